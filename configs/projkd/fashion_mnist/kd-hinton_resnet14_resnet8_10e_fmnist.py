# Baseline: logit KD (Hinton et al., 2015) with mmrazor's KLDivergence,
# T = 4, weight 1 on top of cross-entropy; no feature term
# (kd_distiller of configs/_base_/models/pefd_distill.py).
_base_ = './pefd_resnet14_resnet8_10e_fmnist.py'

model = dict(distiller=dict(_delete_=True, **_base_.kd_distiller))
