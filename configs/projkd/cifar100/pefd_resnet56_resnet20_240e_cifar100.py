# Projector-ensemble feature distillation on CIFAR-100 (recipe, distiller
# and loss: ../../_base_/recipes/pefd_240e_cifar100.py),
# resnet56 teacher (64-d feature) -> resnet20 student (64-d).
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 72.34 / 69.06 / 70.66 / 69.21 / 71.16.
_base_ = [
    '../../_base_/recipes/pefd_240e_cifar100.py',
    '../../_base_/models/cifar100_nets.py',
]

model = dict(
    architecture=_base_.cifar100_nets.resnet20,
    teacher=_base_.cifar100_nets.resnet56,
    # python tools/model_converters/repdistiller_to_mmpretrain.py \
    #   save/models/resnet56_vanilla/ckpt_epoch_240.pth \
    #   checkpoints/cifar100/resnet56_mmpretrain.pth --arch resnet56
    teacher_ckpt='checkpoints/cifar100/resnet56_mmpretrain.pth',
    distiller=dict(connectors=dict(
        projector=dict(in_channels=64, out_channels=64))))
