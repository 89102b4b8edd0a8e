# Variant: logit KD with Hinton et al.'s weights, cross-entropy x 1 +
# KL(T=4) x 1 (kd_distiller of ../../_base_/models/pefd_distill.py); the
# reference's 0.1 + 0.9 is ./kd_resnet34_resnet18_100e_in1k.py.
_base_ = './pefd_resnet34_resnet18_100e_in1k.py'

model = dict(distiller=dict(_delete_=True, **_base_.kd_distiller))
