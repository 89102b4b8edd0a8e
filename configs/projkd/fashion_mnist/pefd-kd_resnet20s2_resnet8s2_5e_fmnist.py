# Ensemble of 3 projectors plus logit KD: the PEFD loss and KL(T=4) x 0.9
# (kd_distiller_reference of ../../_base_/models/pefd_distill.py) on top of
# cross-entropy x 1.
_base_ = './pefd_resnet20s2_resnet8s2_5e_fmnist.py'

model = dict(
    distiller=dict(
        student_recorders=_base_.kd_distiller_reference.student_recorders,
        teacher_recorders=_base_.kd_distiller_reference.teacher_recorders,
        distill_losses=_base_.kd_distiller_reference.distill_losses,
        loss_forward_mappings=_base_.kd_distiller_reference.
        loss_forward_mappings))
