# Ablation: a single projector (q = 1) instead of the ensemble of 3.
# This pair has no no-projector config (the ResNet-34 one has):
# MobileNetV1's 1024-d feature cannot be matched directly to ResNet50's
# 2048-d one, so some projector is needed; q = 1 is the closest ablation.
_base_ = './pefd_resnet50_mobilenet-v1_100e_in1k.py'

model = dict(
    distiller=dict(connectors=dict(projector=dict(num_projectors=1))))
