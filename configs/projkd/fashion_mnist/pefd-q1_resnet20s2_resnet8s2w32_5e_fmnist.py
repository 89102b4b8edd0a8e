# Ablation: one projector (32 -> 64) instead of an ensemble of 3.
_base_ = './pefd_resnet20s2_resnet8s2w32_5e_fmnist.py'

model = dict(
    distiller=dict(connectors=dict(projector=dict(num_projectors=1))))
