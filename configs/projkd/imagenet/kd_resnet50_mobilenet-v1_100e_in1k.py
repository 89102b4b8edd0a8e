# Baseline: logit KD as the reference runs it for ResNet50 -> MobileNetV1:
# cross-entropy x 0.1 + KL(T=4) x 0.9 (mmrazor's KLDivergence, scaled by
# T^2), no feature term (kd_distiller_reference of
# ../../_base_/models/pefd_distill.py).
_base_ = './pefd_resnet50_mobilenet-v1_100e_in1k.py'

model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=0.1))),
    distiller=dict(_delete_=True, **_base_.kd_distiller_reference))
