# PEFD on ImageNet-1k with a transformer student's recipe: what
# configs/projkd/imagenet/*_300e_in1k.py shares. A DeiT trained with the
# paper's SGD at lr 0.1 for 100 epochs falls far short of its own baseline;
# this is mmpretrain's deit-tiny_4xb256_in1k: AdamW lr 5e-4 x 1024/512,
# wd 0.05 (none on norms, biases, cls_token, pos_embed), 20 warm-up epochs
# then cosine to 300 epochs, gradient clipping at 5, total batch 1024
# (4 GPUs x 256; --auto-scale-lr on others), RandAugment + random erasing,
# Mixup 0.8 / CutMix 1.0 (teacher and student see the same mixed images).
# A config on it gives the two models, the teacher checkpoint and the
# recorders; the projector widths are inferred.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    '../projkd_runtime.py',
    '../models/pefd_distill.py',
]

# The dataset base's normalisation, completed into a buildable config, plus
# the recipe's Mixup/CutMix (in mmpretrain, ImageClassifier's
# train_cfg.augments; here the algorithm's preprocessor serves both models).
data_preprocessor = dict(
    type='mmpretrain.ClsDataPreprocessor',
    batch_augments=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0),
    ]))

# Shape of one input for the dry run that infers the projector widths.
model = dict(input_size=(3, 224, 224))

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
