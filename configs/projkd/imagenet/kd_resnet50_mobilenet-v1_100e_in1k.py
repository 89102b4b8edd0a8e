# Baseline: logit KD as the reference runs it for ResNet50 -> MobileNetV1,
# the distiller of ./kd_resnet34_resnet18_100e_in1k.py (cross-entropy x 0.1 +
# KL(T=4) x 0.9, no feature term) with this pair's models.
_base_ = './kd_resnet34_resnet18_100e_in1k.py'

model = dict(
    architecture=dict(
        backbone=dict(_delete_=True, type='MobileNetV1'),
        head=dict(in_channels=1024)),
    teacher=dict(backbone=dict(depth=50), head=dict(in_channels=2048)),
    # mmpretrain model zoo ResNet50 (76.55% top-1), as pefd_resnet50_mobilenet-v1_100e_in1k.
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth')  # noqa: E501
