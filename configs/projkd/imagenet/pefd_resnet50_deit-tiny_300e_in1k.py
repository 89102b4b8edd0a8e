# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022),
# ImageNet-1k, ResNet-50 teacher -> DeiT-Tiny student: a transformer student
# learning the pooled feature of a CNN teacher, on the student's own recipe
# (mmpretrain's deit-tiny_4xb256_in1k: ../../_base_/recipes/pefd_300e_in1k.py).
# The recorders come from the family bases (configs/_base_/families/): the
# student's feature is the ViT backbone's class token after its final norm
# (192), the teacher's the ResNet neck's (2048). The projector widths are
# left out: one dry forward pass on model.input_size finds them at build
# time and the log says "projector: 192 -> 2048, 3 members (inferred ...)".
_base_ = [
    '../../_base_/recipes/pefd_300e_in1k.py',
    '../../_base_/families/resnet.py',
    '../../_base_/families/vit.py',
]

# mmpretrain model zoo ResNet50 (76.55% top-1). Offline: download it and pass
# --cfg-options model.teacher_ckpt=/path/resnet50_8xb32_in1k.pth

model = dict(
    # mmpretrain's deit-tiny, with label smoothing 0.1 on the student's
    # cross-entropy as in its recipe.
    architecture=dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='VisionTransformer', arch='deit-tiny',
                      img_size=224, patch_size=16),
        neck=None,
        head=dict(type='VisionTransformerClsHead', num_classes=1000,
                  in_channels=192,
                  loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                            mode='original')),
        init_cfg=[
            dict(type='TruncNormal', layer='Linear', std=.02),
            dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
        ]),
    teacher=dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=50, num_stages=4,
                      out_indices=(3, ), style='pytorch'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=2048,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
                  topk=(1, 5))),
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth',
    distiller=dict(
        student_recorders=dict(feat=_base_.vit_recorder),
        teacher_recorders=dict(feat=_base_.resnet_recorder)))
