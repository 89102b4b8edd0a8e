# Projector-ensemble feature distillation on CIFAR-100,
# resnet32x4 teacher (256-d feature) -> ShuffleV1 student (960-d).
# Same teacher, recipe, distiller and loss as
# ./pefd_resnet32x4_resnet8x4_240e_cifar100.py.
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 79.42 / 70.50 / 74.07 / 73.59 / 75.11.
_base_ = './pefd_resnet32x4_resnet8x4_240e_cifar100.py'

model = dict(
    architecture=dict(
        backbone=dict(_delete_=True, type='CifarShuffleNetV1'),
        head=dict(in_channels=960)),
    distiller=dict(connectors=dict(projector=dict(in_channels=960))))

# The reference lr for MobileNetV2/ShuffleNet students.
optim_wrapper = dict(optimizer=dict(lr=0.01))
