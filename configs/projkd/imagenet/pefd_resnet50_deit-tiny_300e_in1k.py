# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022),
# ImageNet-1k, ResNet-50 teacher -> DeiT-Tiny student: a transformer student
# learning the pooled feature of a CNN teacher. The recorders come from the
# family bases (configs/_base_/families/): the student's feature is the
# ViT backbone's class token after its final norm (192), the teacher's the
# ResNet neck's (2048). The projector widths are left out: one dry forward
# pass on model.input_size finds them at build time and the log says
# "projector: 192 -> 2048, 3 members (inferred ...)".
#
# The recipe is the student's, not the paper's ResNet one: a DeiT trained
# with SGD at lr 0.1 for 100 epochs falls far short of its own baseline.
# This is mmpretrain's deit-tiny_4xb256_in1k: AdamW lr 5e-4 x 1024/512,
# wd 0.05 (none on norms, biases, cls_token, pos_embed), 20 warm-up epochs
# then cosine to 300 epochs, gradient clipping at 5, total batch 1024
# (4 GPUs x 256; --auto-scale-lr on others), RandAugment + random erasing,
# Mixup 0.8 / CutMix 1.0 (teacher and student see the same mixed images)
# and label smoothing 0.1 on the student's cross-entropy.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    '../../_base_/projkd_runtime.py',
    '../../_base_/models/pefd_distill.py',
    '../../_base_/families/resnet.py',
    '../../_base_/families/vit.py',
]

# mmpretrain model zoo ResNet50 (76.55% top-1). Offline: download it and pass
# --cfg-options model.teacher_ckpt=/path/resnet50_8xb32_in1k.pth

# The dataset base's normalisation, completed into a buildable config, plus
# the student recipe's Mixup/CutMix (in mmpretrain, ImageClassifier's
# train_cfg.augments; here the algorithm's preprocessor serves both models).
data_preprocessor = dict(
    type='mmpretrain.ClsDataPreprocessor',
    batch_augments=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0),
    ]))

model = dict(
    input_size=(3, 224, 224),
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

train_dataloader = dict(batch_size=256)

# mmpretrain's deit-tiny settings on top of the AdamW schedule base, with
# mmengine's default constructor naming a misspelt optimizer type
# (projkd_mm/engine/optimizers/).
optim_wrapper = dict(
    constructor='CheckedOptimWrapperConstructor',
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0)
        }),
    clip_grad=dict(max_norm=5.0),
)

# Also reports the teacher's accuracy (a wrong teacher shows up at once),
# evaluating the frozen teacher once per process: projkd_mm/engine/loops.py.
val_cfg = dict(_delete_=True, type='FrozenTeacherDistillValLoop')

# Keep the best epoch (by the student's top-1).
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3,
                    save_best='accuracy/top1', rule='greater'))
