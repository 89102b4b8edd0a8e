# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022),
# ImageNet-1k, ConvNeXt-T teacher -> ResNet-18 student: a pair of two
# families, on the paper's recipe (../../_base_/recipes/pefd_100e_in1k.py).
# The recorders come from the family bases (configs/_base_/families/): the
# teacher's feature is the ConvNeXt backbone's pooled, normed vector (768),
# the student's the ResNet neck's (512). The projector widths are left out:
# one dry forward pass on model.input_size finds them at build time and the
# log says "projector: 512 -> 768, 3 members (inferred ...)".
_base_ = [
    '../../_base_/recipes/pefd_100e_in1k.py',
    '../../_base_/models/imagenet_nets.py',
    '../../_base_/families/convnext.py',
    '../../_base_/families/resnet.py',
]

# mmpretrain model zoo ConvNeXt-T (convnext-tiny_32xb128_in1k, 82.14% top-1,
# evaluated with bicubic resizing; this config's bilinear validation
# pipeline may read a little lower). Offline: download it and pass
# --cfg-options model.teacher_ckpt=/path/convnext-tiny_32xb128_in1k.pth

model = dict(
    architecture=_base_.imagenet_nets.resnet18,
    # mmpretrain's convnext-tiny model, which has no neck (its training-only
    # Mixup/CutMix and label smoothing do not apply to a frozen teacher).
    teacher=dict(
        _delete_=True,
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='ConvNeXt', arch='tiny'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=768,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
                  topk=(1, 5), init_cfg=None)),
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/convnext/convnext-tiny_32xb128_in1k_20221207-998cf3e9.pth',
    distiller=dict(
        teacher_recorders=dict(feat=_base_.convnext_recorder),
        student_recorders=dict(feat=_base_.resnet_recorder)))
