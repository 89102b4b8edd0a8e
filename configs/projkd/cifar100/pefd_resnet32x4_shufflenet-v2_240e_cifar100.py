# Projector-ensemble feature distillation on CIFAR-100,
# resnet32x4 teacher (256-d feature) -> ShuffleV2 student (1024-d).
# Same teacher, recipe, distiller and loss as
# ./pefd_resnet32x4_resnet8x4_240e_cifar100.py.
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 79.42 / 71.82 / 74.45 / 73.54 / 75.65.
_base_ = './pefd_resnet32x4_resnet8x4_240e_cifar100.py'

model = dict(
    architecture=dict(
        backbone=dict(_delete_=True, type='CifarShuffleNetV2'),
        head=dict(in_channels=1024)),
    distiller=dict(connectors=dict(projector=dict(in_channels=1024))))

# The reference lr for MobileNetV2/ShuffleNet students.
optim_wrapper = dict(optimizer=dict(lr=0.01))
