# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022),
# ImageNet-1k, ConvNeXt-T teacher -> ResNet-18 student: a pair of two
# families, with the recipe of ./pefd_resnet34_resnet18_100e_in1k.py (SGD lr 0.1,
# momentum 0.9, wd 1e-4, 100 epochs, x0.1 at 30/60/90, total batch 256).
# The recorders come from the family bases (configs/_base_/families/): the
# teacher's feature is the ConvNeXt backbone's pooled, normed vector (768),
# the student's the ResNet neck's (512). The projector widths are left out:
# one dry forward pass on model.input_size finds them at build time and the
# log says "projector: 512 -> 768, 3 members (inferred ...)".
_base_ = [
    './pefd_resnet34_resnet18_100e_in1k.py',
    '../../_base_/families/convnext.py',
    '../../_base_/families/resnet.py',
]

# mmpretrain model zoo ConvNeXt-T (convnext-tiny_32xb128_in1k, 82.14% top-1,
# evaluated with bicubic resizing; this config's bilinear validation
# pipeline may read a little lower). Offline: download it and pass
# --cfg-options model.teacher_ckpt=/path/convnext-tiny_32xb128_in1k.pth

model = dict(
    input_size=(3, 224, 224),
    # mmpretrain's convnext-tiny model (its training-only Mixup/CutMix and
    # label smoothing do not apply to a frozen teacher).
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
        student_recorders=dict(feat=_base_.resnet_recorder),
        connectors=dict(
            projector=dict(in_channels=None, out_channels=None))))
