# Ensemble of 3 projectors plus logit KD (T = 4, weight 1): both loss terms
# of configs/_base_/models/pefd_distill.py in one distiller.
_base_ = './pefd_resnet14_resnet8_10e_fmnist.py'

# kd_distiller's recorders, loss and mappings merged into the PEFD ones.
model = dict(distiller=_base_.kd_distiller)
