# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022),
# ImageNet-1k, ResNet50 teacher -> MobileNetV1 student: the paper's second
# ImageNet pair, with the recipe of ./pefd_resnet34_resnet18_100e_in1k.py (SGD lr 0.1,
# momentum 0.9, wd 1e-4, 100 epochs, x0.1 at 30/60/90, total batch 256).
# The student's 1024-d feature is projected to the teacher's 2048 dims.
# Top-1 anchors: KD 70.50, DKD 72.05, DOT 73.09.
_base_ = './pefd_resnet34_resnet18_100e_in1k.py'

# mmpretrain model zoo ResNet50 (76.55% top-1). Offline: download it and pass
# --cfg-options model.teacher_ckpt=/path/resnet50_8xb32_in1k.pth

model = dict(
    architecture=dict(
        backbone=dict(_delete_=True, type='MobileNetV1'),
        head=dict(in_channels=1024)),
    teacher=dict(backbone=dict(depth=50), head=dict(in_channels=2048)),
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth',
    distiller=dict(
        connectors=dict(
            projector=dict(in_channels=1024, out_channels=2048))))
