# Projector-ensemble feature distillation on CIFAR-100 (recipe, distiller
# and loss: ../../_base_/recipes/pefd_240e_cifar100.py),
# resnet32x4 teacher (256-d feature) -> ShuffleV1 student (960-d).
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 79.42 / 70.50 / 74.07 / 73.59 / 75.11.
_base_ = [
    '../../_base_/recipes/pefd_240e_cifar100.py',
    '../../_base_/models/cifar100_nets.py',
]

model = dict(
    architecture=_base_.cifar100_nets.ShuffleV1,
    teacher=_base_.cifar100_nets.resnet32x4,
    # RepDistiller's resnet32x4, converted as in
    # ./pefd_resnet32x4_resnet8x4_240e_cifar100.py.
    teacher_ckpt='checkpoints/cifar100/resnet32x4_mmpretrain.pth',
    distiller=dict(connectors=dict(
        projector=dict(in_channels=960, out_channels=256))))

# The reference lr for MobileNetV2/ShuffleNet students.
optim_wrapper = dict(optimizer=dict(lr=0.01))
