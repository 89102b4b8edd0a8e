# Projector-ensemble feature distillation on CIFAR-100,
# wrn_40_2 teacher (128-d feature) -> ShuffleV1 student (960-d).
# Same teacher as ./pefd_wrn-40-2_wrn-16-2_240e_cifar100.py; recipe, distiller
# and loss: ./pefd_resnet32x4_resnet8x4_240e_cifar100.py.
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 75.61 / 70.50 / 74.83 / 73.73 / 76.05.
_base_ = './pefd_wrn-40-2_wrn-16-2_240e_cifar100.py'

model = dict(
    architecture=dict(
        backbone=dict(_delete_=True, type='CifarShuffleNetV1'),
        # the reference's classifier: nn.Linear's own init
        head=dict(in_channels=960, init_cfg=None)),
    distiller=dict(connectors=dict(projector=dict(in_channels=960))))

# The reference lr for MobileNetV2/ShuffleNet students.
optim_wrapper = dict(optimizer=dict(lr=0.01))
