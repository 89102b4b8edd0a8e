# PEFD (./pefd_distill.py) between two mmpretrain ImageClassifiers of the
# usual shape: backbone -> GlobalAveragePooling neck (the pooled (N, C)
# feature the recorders read) -> linear head with cross-entropy. A recipe
# on it sets the heads' num_classes (and the student head's init_cfg); a
# pair config the two backbones and the heads' in_channels
# (./cifar100_nets.py, ./imagenet_nets.py).
_base_ = ['./pefd_distill.py']

linear_classifier = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead',
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
              topk=(1, 5)))

model = dict(architecture=linear_classifier, teacher=linear_classifier)
