# Projector-ensemble feature distillation on CIFAR-100 (recipe, distiller
# and loss: ../../_base_/recipes/pefd_240e_cifar100.py),
# resnet32x4 teacher (256-d feature) -> ShuffleV2 student (1024-d).
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 79.42 / 71.82 / 74.45 / 73.54 / 75.65.
_base_ = ['../../_base_/recipes/pefd_240e_cifar100.py']

model = dict(
    architecture=dict(
        backbone=dict(type='CifarShuffleNetV2'),
        head=dict(in_channels=1024)),
    teacher=dict(
        backbone=dict(type='CifarResNet', depth=32,
                      num_filters=(32, 64, 128, 256)),
        head=dict(in_channels=256)),
    # RepDistiller's resnet32x4, converted as in
    # ./pefd_resnet32x4_resnet8x4_240e_cifar100.py.
    teacher_ckpt='checkpoints/cifar100/resnet32x4_mmpretrain.pth',
    distiller=dict(
        connectors=dict(
            projector=dict(in_channels=1024, out_channels=256))))

# The reference lr for MobileNetV2/ShuffleNet students.
optim_wrapper = dict(optimizer=dict(lr=0.01))
