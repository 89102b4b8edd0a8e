# Variant: logit KD with Hinton et al.'s weights, cross-entropy x 1 +
# KL(T=4) x 1 (kd_resnet20s2_resnet8s2_5e_fmnist.py follows the reference's
# 0.1 + 0.9).
_base_ = './pefd_resnet20s2_resnet8s2_5e_fmnist.py'

model = dict(distiller=dict(_delete_=True, **_base_.kd_distiller))
