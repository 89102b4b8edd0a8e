# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022),
# ImageNet-1k, ResNet50 teacher -> MobileNetV1 student: the paper's second
# ImageNet pair, on its recipe (../../_base_/recipes/pefd_100e_in1k.py).
# The student's 1024-d feature is projected to the teacher's 2048 dims.
# Top-1 anchors: KD 70.50, DKD 72.05, DOT 73.09.
_base_ = [
    '../../_base_/recipes/pefd_100e_in1k.py',
    '../../_base_/models/imagenet_nets.py',
]

# mmpretrain model zoo ResNet50 (76.55% top-1). Offline: download it and pass
# --cfg-options model.teacher_ckpt=/path/resnet50_8xb32_in1k.pth

model = dict(
    architecture=_base_.imagenet_nets.MobileNetV1,
    teacher=_base_.imagenet_nets.resnet50,
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth',
    distiller=dict(connectors=dict(
        projector=dict(in_channels=1024, out_channels=2048))))
