# Projector-ensemble feature distillation on CIFAR-100 (recipe, distiller
# and loss: ../../_base_/recipes/pefd_240e_cifar100.py),
# vgg13 teacher (512-d feature) -> vgg8 student (512-d).
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 74.64 / 70.36 / 72.98 / 71.02 / 73.94.
_base_ = [
    '../../_base_/recipes/pefd_240e_cifar100.py',
    '../../_base_/models/cifar100_nets.py',
]

model = dict(
    architecture=_base_.cifar100_nets.vgg8,
    teacher=_base_.cifar100_nets.vgg13,
    # python tools/model_converters/repdistiller_to_mmpretrain.py \
    #   save/models/vgg13_vanilla/ckpt_epoch_240.pth \
    #   checkpoints/cifar100/vgg13_mmpretrain.pth --arch vgg13
    teacher_ckpt='checkpoints/cifar100/vgg13_mmpretrain.pth',
    distiller=dict(connectors=dict(
        projector=dict(in_channels=512, out_channels=512))))
