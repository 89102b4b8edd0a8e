# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022),
# CIFAR-100, resnet32x4 teacher (256-d feature) -> resnet8x4 student
# (256-d), the paper's recipe (../../_base_/recipes/pefd_240e_cifar100.py):
# cross-entropy + the PEFD loss between the teacher's penultimate feature
# and the mean of 3 ReLU(linear) projections of the student's.
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 79.42 / 72.50 / 73.33 / 73.50 / 75.51.
_base_ = ['../../_base_/recipes/pefd_240e_cifar100.py']

model = dict(
    architecture=dict(
        backbone=dict(type='CifarResNet', depth=8,
                      num_filters=(32, 64, 128, 256)),
        head=dict(in_channels=256)),
    teacher=dict(
        backbone=dict(type='CifarResNet', depth=32,
                      num_filters=(32, 64, 128, 256)),
        head=dict(in_channels=256)),
    # RepDistiller's resnet32x4 (79.42%), converted by (docs/model_zoo.md):
    # python tools/model_converters/repdistiller_to_mmpretrain.py \
    #   save/models/resnet32x4_vanilla/ckpt_epoch_240.pth \
    #   checkpoints/cifar100/resnet32x4_mmpretrain.pth --arch resnet32x4
    teacher_ckpt='checkpoints/cifar100/resnet32x4_mmpretrain.pth',
    distiller=dict(
        connectors=dict(projector=dict(in_channels=256, out_channels=256))))
