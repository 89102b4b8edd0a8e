# Ablation: a single projector (q = 1) instead of the ensemble of 3.
_base_ = './r34_r18_imagenet_ens3.py'

model = dict(
    distiller=dict(connectors=dict(projector=dict(num_projectors=1))))
