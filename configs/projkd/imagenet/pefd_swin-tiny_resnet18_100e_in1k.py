# Projector-ensemble feature distillation, ImageNet-1k, Swin-T teacher ->
# ResNet-18 student: a transformer teacher for a CNN student, with the
# recipe of ./pefd_resnet34_resnet18_100e_in1k.py. The teacher's feature is its GAP
# neck's output (768; ../_base_/families/swin.py), the student's its neck's
# (512); the projector widths are inferred by the dry run on
# model.input_size ("projector: 512 -> 768, 3 members").
_base_ = [
    './pefd_convnext-tiny_resnet18_100e_in1k.py',
    '../../_base_/families/swin.py',
]

model = dict(
    teacher=dict(backbone=dict(_delete_=True, type='SwinTransformer',
                               arch='tiny', img_size=224),
                 neck=dict(type='GlobalAveragePooling')),
    # mmpretrain model zoo Swin-T (swin-tiny_16xb64_in1k, 81.18 % top-1),
    # saved in the first Swin layout (`norm`, `attn_mask`): the model
    # converts it on load, which the strict loader accepts
    # (projkd_mm/utils/checkpoint.py). Offline: download it and pass
    # --cfg-options model.teacher_ckpt=/path/swin_tiny_224_....pth
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/swin-transformer/swin_tiny_224_b16x64_300e_imagenet_20210616_090925-66df6be6.pth',  # noqa: E501
    distiller=dict(teacher_recorders=dict(feat=_base_.swin_recorder)))
