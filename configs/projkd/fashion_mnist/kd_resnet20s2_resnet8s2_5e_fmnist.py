# Baseline: logit KD as the reference runs it (chenyd7/PEFD,
# scripts/run_cifar.sh: -r 0.1 -b 0.9): cross-entropy x 0.1 + KL(T=4) x 0.9
# (KL scaled by T^2, mmrazor's KLDivergence). Hinton's weights (1 + 1):
# kd-hinton_resnet20s2_resnet8s2_5e_fmnist.py.
_base_ = './pefd_resnet20s2_resnet8s2_5e_fmnist.py'

model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=0.1))),
    distiller=dict(_delete_=True, **_base_.kd_distiller_reference))
