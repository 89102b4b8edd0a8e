# The networks of the ImageNet pairs (mmpretrain's, sized as the reference's
# torchvision models): what a pair config merges into the recipe's
# `architecture` (student) and `teacher`, e.g.
#   model = dict(architecture=_base_.imagenet_nets.resnet18,
#                teacher=_base_.imagenet_nets.resnet34, ...)
# Each gives the backbone and the head's in_channels (the penultimate
# width). The teachers are mmpretrain model zoo checkpoints; the students
# are built as torchvision builds them (tests/test_model_zoo.py checks the
# parameter counts).
imagenet_nets = dict(
    # teachers
    resnet34=dict(backbone=dict(type='ResNet', depth=34, num_stages=4,
                                out_indices=(3, ), style='pytorch'),
                  head=dict(in_channels=512)),
    resnet50=dict(backbone=dict(type='ResNet', depth=50, num_stages=4,
                                out_indices=(3, ), style='pytorch'),
                  head=dict(in_channels=2048)),
    # students
    # torchvision's ResNet-18, as the reference's student: no
    # zero-initialised last BN of each residual block (mmpretrain's ResNet
    # default).
    resnet18=dict(backbone=dict(type='ResNet', depth=18, num_stages=4,
                                out_indices=(3, ), style='pytorch',
                                zero_init_residual=False),
                  head=dict(in_channels=512)),
    # PEFD's MobileNet (the 4.2 M-parameter MobileNetV1 of its ImageNet
    # pair), projkd_mm/models/backbones/.
    MobileNetV1=dict(backbone=dict(type='MobileNetV1'),
                     head=dict(in_channels=1024)),
)
