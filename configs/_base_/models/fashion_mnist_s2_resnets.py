# The pair of the full Fashion-MNIST study (tools/ablation.py --preset short):
# RepDistiller-style CIFAR ResNets with a grey stem of stride 2, so the first
# stage works at 14x14 (a quarter of the cost of 28x28; docs/ablation.md).
# Teacher: ResNet-20 at twice the CIFAR width, 0.49 M parameters.
# Student: ResNet-8 at (8, 8, 16, 64), 53 k parameters. Both end in 64
# channels, so the "no projector" row exists.
teacher_model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=20, num_filters=(32, 32, 64, 64),
                  in_channels=1, stem_stride=2),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
student_model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=8, num_filters=(8, 8, 16, 64),
                  in_channels=1, stem_stride=2),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
# The second pair: a narrower student ending in 32 channels (20 k
# parameters), so only projector rows (32 -> 64) exist for it.
narrow_student_model = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=8, num_filters=(8, 8, 16, 32),
                  in_channels=1, stem_stride=2),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=32,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
# The heterogeneous pair's student: a tiny ViT, 4x4 patches of the 28x28
# grey image (49 tokens + class token), 3 layers of width 64 (105 k
# parameters); its penultimate feature is the class token.
vit_student_model = dict(
    type='ImageClassifier',
    backbone=dict(type='VisionTransformer', img_size=28, patch_size=4,
                  in_channels=1,
                  arch=dict(embed_dims=64, num_layers=3, num_heads=4,
                            feedforward_channels=128)),
    head=dict(type='VisionTransformerClsHead', num_classes=10,
              in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
