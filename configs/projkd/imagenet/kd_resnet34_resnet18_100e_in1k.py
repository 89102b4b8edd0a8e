# Baseline: logit KD as the reference runs its KD baseline (chenyd7/PEFD,
# scripts/run_cifar.sh: -r 0.1 -b 0.9): cross-entropy x 0.1 + KL(T=4) x 0.9
# with mmrazor's KLDivergence (scaled by T^2); no feature term
# (kd_distiller_reference of ../../_base_/models/pefd_distill.py). Hinton's
# weights (1 + 1): ./kd-hinton_resnet34_resnet18_100e_in1k.py.
_base_ = './pefd_resnet34_resnet18_100e_in1k.py'

model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=0.1))),
    distiller=dict(_delete_=True, **_base_.kd_distiller_reference))
