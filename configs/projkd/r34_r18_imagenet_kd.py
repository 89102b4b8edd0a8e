# Baseline: logit KD (Hinton et al., 2015) with mmrazor's KLDivergence,
# T = 4, weight 1 on top of cross-entropy; no feature term
# (kd_distiller of ../_base_/models/pefd_distill.py).
_base_ = './r34_r18_imagenet_ens3.py'

model = dict(distiller=dict(_delete_=True, **_base_.kd_distiller))
