# Ablation: a single projector (q = 1) instead of the ensemble of 3.
# There is no "noproj" sibling for this pair (unlike pefd-noproj_resnet34_resnet18_100e_in1k):
# MobileNetV1's 1024-d feature cannot be matched directly to ResNet50's 2048-d
# one, so some projector is needed; q = 1 is the closest ablation.
_base_ = './pefd_resnet50_mobilenet-v1_100e_in1k.py'

model = dict(
    distiller=dict(connectors=dict(projector=dict(num_projectors=1))))
