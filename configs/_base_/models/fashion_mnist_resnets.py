# The Fashion-MNIST teacher / student pair (RepDistiller-style CIFAR ResNets
# with a grey stem). Both end in 64 channels, so the "no projector" ablation
# can match their features directly.
teacher_model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=14, num_filters=(16, 16, 32, 64),
                  in_channels=1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
student_model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=8, num_filters=(8, 8, 16, 64),
                  in_channels=1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
