# Ablation: an ensemble of 8 projectors instead of 3.
_base_ = './pefd_ens3_resnet20s2_resnet8s2_5e_fmnist.py'

model = dict(
    distiller=dict(connectors=dict(projector=dict(num_projectors=8))))
