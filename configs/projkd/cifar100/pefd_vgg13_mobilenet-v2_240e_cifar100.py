# Projector-ensemble feature distillation on CIFAR-100,
# vgg13 teacher (512-d feature) -> MobileNetV2 student (1280-d).
# Same teacher as ./pefd_vgg13_vgg8_240e_cifar100.py; recipe, distiller and
# loss: ./pefd_resnet32x4_resnet8x4_240e_cifar100.py.
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 74.64 / 64.60 / 67.37 / 64.14 / 69.73.
_base_ = './pefd_vgg13_vgg8_240e_cifar100.py'

model = dict(
    architecture=dict(
        backbone=dict(_delete_=True, type='CifarMobileNetV2', width_mult=0.5),
        head=dict(in_channels=1280)),
    distiller=dict(connectors=dict(projector=dict(in_channels=1280))))

# The reference lr for MobileNetV2/ShuffleNet students.
optim_wrapper = dict(optimizer=dict(lr=0.01))
