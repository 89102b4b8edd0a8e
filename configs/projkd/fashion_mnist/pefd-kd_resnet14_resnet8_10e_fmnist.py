# Ensemble of 3 projectors plus logit KD (T = 4, weight 1): both loss terms
# of configs/_base_/models/pefd_distill.py in one distiller.
_base_ = './pefd_resnet14_resnet8_10e_fmnist.py'

model = dict(
    distiller=dict(
        student_recorders=_base_.kd_distiller.student_recorders,
        teacher_recorders=_base_.kd_distiller.teacher_recorders,
        distill_losses=_base_.kd_distiller.distill_losses,
        loss_forward_mappings=_base_.kd_distiller.loss_forward_mappings))
