# Ensemble of 3 projectors plus logit KD: the PEFD loss and KL(T=4) x 0.9
# (kd_distiller_reference of ../../_base_/models/pefd_distill.py) on top of
# cross-entropy x 1.
_base_ = './pefd_resnet20s2_resnet8s2_5e_fmnist.py'

# kd_distiller_reference's recorders, loss and mappings merged into the
# PEFD ones.
model = dict(distiller=_base_.kd_distiller_reference)
