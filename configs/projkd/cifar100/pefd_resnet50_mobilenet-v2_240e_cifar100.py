# Projector-ensemble feature distillation on CIFAR-100 (recipe, distiller
# and loss: ../../_base_/recipes/pefd_240e_cifar100.py),
# ResNet50 teacher (2048-d feature) -> MobileNetV2 student (1280-d).
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 79.34 / 64.60 / 67.35 / 63.16 / 69.11.
_base_ = [
    '../../_base_/recipes/pefd_240e_cifar100.py',
    '../../_base_/models/cifar100_nets.py',
]

model = dict(
    architecture=_base_.cifar100_nets.MobileNetV2,
    teacher=_base_.cifar100_nets.ResNet50,
    # python tools/model_converters/repdistiller_to_mmpretrain.py \
    #   save/models/ResNet50_vanilla/ckpt_epoch_240.pth \
    #   checkpoints/cifar100/ResNet50_mmpretrain.pth --arch ResNet50
    teacher_ckpt='checkpoints/cifar100/ResNet50_mmpretrain.pth',
    distiller=dict(connectors=dict(
        projector=dict(in_channels=1280, out_channels=2048))))

# The reference lr for MobileNetV2/ShuffleNet students.
optim_wrapper = dict(optimizer=dict(lr=0.01))
