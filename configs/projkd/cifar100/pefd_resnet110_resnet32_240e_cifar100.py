# Projector-ensemble feature distillation on CIFAR-100,
# resnet110 teacher (64-d feature) -> resnet32 student (64-d).
# Recipe, distiller and loss: ./pefd_resnet32x4_resnet8x4_240e_cifar100.py
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 74.31 / 71.14 / 73.08 / 71.06 / 73.48.
_base_ = './pefd_resnet32x4_resnet8x4_240e_cifar100.py'

model = dict(
    architecture=dict(
        backbone=dict(_delete_=True, type='CifarResNet', depth=32),
        head=dict(in_channels=64)),
    teacher=dict(
        backbone=dict(_delete_=True, type='CifarResNet', depth=110),
        head=dict(in_channels=64)),
    # python tools/model_converters/repdistiller_to_mmpretrain.py \
    #   save/models/resnet110_vanilla/ckpt_epoch_240.pth \
    #   checkpoints/cifar100/resnet110_mmpretrain.pth --arch resnet110
    teacher_ckpt='checkpoints/cifar100/resnet110_mmpretrain.pth',
    distiller=dict(
        connectors=dict(
            projector=dict(in_channels=64, out_channels=64))))
