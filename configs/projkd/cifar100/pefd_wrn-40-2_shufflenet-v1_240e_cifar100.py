# Projector-ensemble feature distillation on CIFAR-100 (recipe, distiller
# and loss: ../../_base_/recipes/pefd_240e_cifar100.py),
# wrn_40_2 teacher (128-d feature) -> ShuffleV1 student (960-d).
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 75.61 / 70.50 / 74.83 / 73.73 / 76.05.
_base_ = [
    '../../_base_/recipes/pefd_240e_cifar100.py',
    '../../_base_/models/cifar100_nets.py',
]

model = dict(
    architecture=_base_.cifar100_nets.ShuffleV1,
    teacher=_base_.cifar100_nets.wrn_40_2,
    # RepDistiller's wrn_40_2, converted as in
    # ./pefd_wrn-40-2_wrn-16-2_240e_cifar100.py.
    teacher_ckpt='checkpoints/cifar100/wrn_40_2_mmpretrain.pth',
    distiller=dict(connectors=dict(
        projector=dict(in_channels=960, out_channels=128))))

# The reference lr for MobileNetV2/ShuffleNet students.
optim_wrapper = dict(optimizer=dict(lr=0.01))
