# Ablation: a single projector (q = 1) instead of the ensemble of 3.
_base_ = './pefd_resnet14_resnet8_10e_fmnist.py'

model = dict(
    distiller=dict(connectors=dict(projector=dict(num_projectors=1))))
