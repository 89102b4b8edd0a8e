# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022),
# ImageNet-1k, ResNet34 teacher -> ResNet18 student, on the paper's recipe
# (../../_base_/recipes/pefd_100e_in1k.py).
_base_ = [
    '../../_base_/recipes/pefd_100e_in1k.py',
    '../../_base_/models/imagenet_nets.py',
]

# mmpretrain model zoo ResNet34 (73.62% top-1). Offline: download it and pass
# --cfg-options model.teacher_ckpt=/path/resnet34_8xb32_in1k.pth

model = dict(
    architecture=_base_.imagenet_nets.resnet18,
    teacher=_base_.imagenet_nets.resnet34,
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/resnet/resnet34_8xb32_in1k_20210831-f257d4e6.pth',
    # Ensemble of 3 projectors 512 -> 512 on the penultimate features.
    distiller=dict(connectors=dict(
        projector=dict(in_channels=512, out_channels=512))))
