# Projector-ensemble feature distillation, ImageNet-1k, Swin-T teacher ->
# ResNet-18 student: a transformer teacher for a CNN student, on the paper's
# recipe (../../_base_/recipes/pefd_100e_in1k.py). The teacher's feature is
# its GAP neck's output (768; ../../_base_/families/swin.py), the student's
# its neck's (512; ../../_base_/families/resnet.py); the projector widths
# are inferred by the dry run on model.input_size ("projector: 512 -> 768,
# 3 members").
_base_ = [
    '../../_base_/recipes/pefd_100e_in1k.py',
    '../../_base_/models/imagenet_nets.py',
    '../../_base_/families/resnet.py',
    '../../_base_/families/swin.py',
]

model = dict(
    architecture=_base_.imagenet_nets.resnet18,
    teacher=dict(
        backbone=dict(type='SwinTransformer', arch='tiny', img_size=224),
        head=dict(in_channels=768, init_cfg=None)),
    # mmpretrain model zoo Swin-T (swin-tiny_16xb64_in1k, 81.18 % top-1),
    # saved in the first Swin layout (`norm`, `attn_mask`): the model
    # converts it on load, which the strict loader accepts
    # (projkd_mm/utils/safe_load.py). Offline: download it and pass
    # --cfg-options model.teacher_ckpt=/path/swin_tiny_224_....pth
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/swin-transformer/swin_tiny_224_b16x64_300e_imagenet_20210616_090925-66df6be6.pth',  # noqa: E501
    distiller=dict(
        teacher_recorders=dict(feat=_base_.swin_recorder),
        student_recorders=dict(feat=_base_.resnet_recorder)))
