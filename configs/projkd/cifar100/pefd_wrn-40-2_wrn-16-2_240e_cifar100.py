# Projector-ensemble feature distillation on CIFAR-100 (recipe, distiller
# and loss: ../../_base_/recipes/pefd_240e_cifar100.py),
# wrn_40_2 teacher (128-d feature) -> wrn_16_2 student (128-d).
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 75.61 / 73.26 / 74.92 / 73.58 / 75.48.
_base_ = [
    '../../_base_/recipes/pefd_240e_cifar100.py',
    '../../_base_/models/cifar100_nets.py',
]

model = dict(
    architecture=_base_.cifar100_nets.wrn_16_2,
    teacher=_base_.cifar100_nets.wrn_40_2,
    # python tools/model_converters/repdistiller_to_mmpretrain.py \
    #   save/models/wrn_40_2_vanilla/ckpt_epoch_240.pth \
    #   checkpoints/cifar100/wrn_40_2_mmpretrain.pth --arch wrn_40_2
    teacher_ckpt='checkpoints/cifar100/wrn_40_2_mmpretrain.pth',
    distiller=dict(connectors=dict(
        projector=dict(in_channels=128, out_channels=128))))
