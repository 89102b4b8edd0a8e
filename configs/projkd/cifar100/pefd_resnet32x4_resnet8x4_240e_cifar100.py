# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022),
# CIFAR-100, resnet32x4 teacher -> resnet8x4 student, the paper's recipe:
# 1 x cross-entropy + 25 x mean(1 - cos) between the teacher's penultimate
# feature and the mean of 3 ReLU(linear) projections of the student's.
# The other pairs of this folder inherit this file and change the two models,
# the teacher checkpoint and the projector widths.
_base_ = [
    '../../_base_/datasets/cifar100_bs64.py',
    '../../_base_/schedules/cifar100_240e.py',
    '../../_base_/projkd_runtime.py',
    '../../_base_/models/pefd_distill.py',
]

model = dict(
    # Shape of one input: a dry forward pass on it at build time checks the
    # projector widths (or infers those left out) before training starts.
    input_size=(3, 32, 32),
    architecture=dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='CifarResNet', depth=8,
                      num_filters=(32, 64, 128, 256)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=100, in_channels=256,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
                  topk=(1, 5),
                  # The student's classifier starts as the reference's:
                  # PyTorch's nn.Linear init (mmpretrain's default is
                  # N(0, 0.01)). Per student arch: projkd_mm/zoo.py
                  # (head_init); docs/model_zoo.md "Differences".
                  init_cfg=None)),
    teacher=dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='CifarResNet', depth=32,
                      num_filters=(32, 64, 128, 256)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=100, in_channels=256,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
                  topk=(1, 5))),
    # RepDistiller's resnet32x4 (79.42%), converted by (docs/model_zoo.md):
    # python tools/model_converters/repdistiller_to_mmpretrain.py \
    #   save/models/resnet32x4_vanilla/ckpt_epoch_240.pth \
    #   checkpoints/cifar100/resnet32x4_mmpretrain.pth --arch resnet32x4
    teacher_ckpt='checkpoints/cifar100/resnet32x4_mmpretrain.pth',
    # Ensemble of 3 projectors 256 -> 256 on the penultimate features, loss
    # 12.5 x batchmean == 25 x mean(1 - cos): _base_/models/pefd_distill.py
    distiller=dict(
        connectors=dict(projector=dict(in_channels=256, out_channels=256))))

# Also reports the teacher's accuracy (a wrong teacher shows up at once),
# evaluating the frozen teacher once per process: projkd_mm/engine/loops.py.
val_cfg = dict(_delete_=True, type='FrozenTeacherDistillValLoop')

# The reference reports the best epoch's test accuracy: keep that checkpoint
# (by the student's top-1; the teacher's is logged as teacher.accuracy/top1).
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='accuracy/top1', rule='greater'))
