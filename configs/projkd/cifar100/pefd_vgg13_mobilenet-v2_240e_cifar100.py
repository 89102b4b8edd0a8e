# Projector-ensemble feature distillation on CIFAR-100 (recipe, distiller
# and loss: ../../_base_/recipes/pefd_240e_cifar100.py),
# vgg13 teacher (512-d feature) -> MobileNetV2 student (1280-d).
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 74.64 / 64.60 / 67.37 / 64.14 / 69.73.
_base_ = [
    '../../_base_/recipes/pefd_240e_cifar100.py',
    '../../_base_/models/cifar100_nets.py',
]

model = dict(
    architecture=_base_.cifar100_nets.MobileNetV2,
    teacher=_base_.cifar100_nets.vgg13,
    # RepDistiller's vgg13, converted as in
    # ./pefd_vgg13_vgg8_240e_cifar100.py.
    teacher_ckpt='checkpoints/cifar100/vgg13_mmpretrain.pth',
    distiller=dict(connectors=dict(
        projector=dict(in_channels=1280, out_channels=512))))

# The reference lr for MobileNetV2/ShuffleNet students.
optim_wrapper = dict(optimizer=dict(lr=0.01))
