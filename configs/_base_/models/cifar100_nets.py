# The networks of the CIFAR-100 pairs (RepDistiller's models/, as mmpretrain
# classifiers): what a pair config merges into the recipe's `architecture`
# (student) and `teacher`, e.g.
#   model = dict(architecture=_base_.cifar100_nets.resnet8x4,
#                teacher=_base_.cifar100_nets.resnet32x4, ...)
# Each gives the backbone and the head's in_channels (the penultimate
# width); the students whose reference classifier does not keep nn.Linear's
# own init also give the head's init_cfg. The same facts as
# projkd_mm.zoo.REPDISTILLER_ARCHS, against which tests/test_model_zoo.py
# checks the built models (parameters, widths).

cifar100_nets = dict(
    # teachers
    resnet32x4=dict(backbone=dict(type='CifarResNet', depth=32,
                                  num_filters=(32, 64, 128, 256)),
                    head=dict(in_channels=256)),
    vgg13=dict(backbone=dict(type='CifarVGG', depth=13),
               head=dict(in_channels=512)),
    resnet56=dict(backbone=dict(type='CifarResNet', depth=56),
                  head=dict(in_channels=64)),
    ResNet50=dict(backbone=dict(type='ResNet_CIFAR', depth=50,
                                out_indices=(3, )),
                  head=dict(in_channels=2048)),
    resnet110=dict(backbone=dict(type='CifarResNet', depth=110),
                   head=dict(in_channels=64)),
    wrn_40_2=dict(backbone=dict(type='CifarWideResNet', depth=40,
                                widen_factor=2),
                  head=dict(in_channels=128)),
    # students; the heads' init_cfg: RepDistiller's VGG and MobileNetV2
    # classifiers are N(0, 0.01) with bias 0, its WRN's nn.Linear's own init
    # with bias 0, the others keep nn.Linear's own init (the recipe's).
    resnet8x4=dict(backbone=dict(type='CifarResNet', depth=8,
                                 num_filters=(32, 64, 128, 256)),
                   head=dict(in_channels=256)),
    vgg8=dict(backbone=dict(type='CifarVGG', depth=8),
              head=dict(in_channels=512,
                        init_cfg=dict(_delete_=True, type='Normal',
                                      layer='Linear', std=0.01))),
    resnet20=dict(backbone=dict(type='CifarResNet', depth=20),
                  head=dict(in_channels=64)),
    MobileNetV2=dict(backbone=dict(type='CifarMobileNetV2', width_mult=0.5),
                     head=dict(in_channels=1280,
                               init_cfg=dict(_delete_=True, type='Normal',
                                             layer='Linear', std=0.01))),
    resnet32=dict(backbone=dict(type='CifarResNet', depth=32),
                  head=dict(in_channels=64)),
    ShuffleV1=dict(backbone=dict(type='CifarShuffleNetV1'),
                   head=dict(in_channels=960)),
    wrn_16_2=dict(backbone=dict(type='CifarWideResNet', depth=16,
                                widen_factor=2),
                  head=dict(in_channels=128, init_cfg=dict(
                      _delete_=True, type='Kaiming', layer='Linear',
                      a=5**0.5, mode='fan_in', nonlinearity='leaky_relu',
                      distribution='uniform', bias=0))),
    ShuffleV2=dict(backbone=dict(type='CifarShuffleNetV2'),
                   head=dict(in_channels=1024)),
)
# The other WRN student, with the same classifier init.
cifar100_nets['wrn_40_1'] = dict(
    backbone=dict(type='CifarWideResNet', depth=40, widen_factor=1),
    head=dict(cifar100_nets['wrn_16_2']['head'], in_channels=64))
