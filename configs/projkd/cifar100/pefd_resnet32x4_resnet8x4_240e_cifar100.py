# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022),
# CIFAR-100, resnet32x4 teacher (256-d feature) -> resnet8x4 student
# (256-d), the paper's recipe (../../_base_/recipes/pefd_240e_cifar100.py):
# cross-entropy + the PEFD loss between the teacher's penultimate feature
# and the mean of 3 ReLU(linear) projections of the student's.
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 79.42 / 72.50 / 73.33 / 73.50 / 75.51.
_base_ = [
    '../../_base_/recipes/pefd_240e_cifar100.py',
    '../../_base_/models/cifar100_nets.py',
]

model = dict(
    architecture=_base_.cifar100_nets.resnet8x4,
    teacher=_base_.cifar100_nets.resnet32x4,
    # RepDistiller's resnet32x4 (79.42%), converted by (docs/model_zoo.md):
    # python tools/model_converters/repdistiller_to_mmpretrain.py \
    #   save/models/resnet32x4_vanilla/ckpt_epoch_240.pth \
    #   checkpoints/cifar100/resnet32x4_mmpretrain.pth --arch resnet32x4
    teacher_ckpt='checkpoints/cifar100/resnet32x4_mmpretrain.pth',
    distiller=dict(connectors=dict(
        projector=dict(in_channels=256, out_channels=256))))
