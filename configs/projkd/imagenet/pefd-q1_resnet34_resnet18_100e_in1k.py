# Ablation: a single projector (q = 1) instead of the ensemble of 3.
_base_ = './pefd_resnet34_resnet18_100e_in1k.py'

model = dict(
    distiller=dict(connectors=dict(projector=dict(num_projectors=1))))
