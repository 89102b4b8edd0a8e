# Projector-ensemble feature distillation on CIFAR-100 (recipe, distiller
# and loss: ../../_base_/recipes/pefd_240e_cifar100.py),
# resnet110 teacher (64-d feature) -> resnet32 student (64-d).
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 74.31 / 71.14 / 73.08 / 71.06 / 73.48.
_base_ = [
    '../../_base_/recipes/pefd_240e_cifar100.py',
    '../../_base_/models/cifar100_nets.py',
]

model = dict(
    architecture=_base_.cifar100_nets.resnet32,
    teacher=_base_.cifar100_nets.resnet110,
    # python tools/model_converters/repdistiller_to_mmpretrain.py \
    #   save/models/resnet110_vanilla/ckpt_epoch_240.pth \
    #   checkpoints/cifar100/resnet110_mmpretrain.pth --arch resnet110
    teacher_ckpt='checkpoints/cifar100/resnet110_mmpretrain.pth',
    distiller=dict(connectors=dict(
        projector=dict(in_channels=64, out_channels=64))))
