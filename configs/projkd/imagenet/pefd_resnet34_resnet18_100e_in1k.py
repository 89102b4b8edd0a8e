# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022),
# ImageNet-1k, ResNet34 teacher -> ResNet18 student: the paper's recipe.
# SGD lr 0.1, momentum 0.9, wd 1e-4, 100 epochs, x0.1 at 30/60/90,
# total batch 256 (8 GPUs x 32). On fewer GPUs pass --auto-scale-lr to
# tools/train.py or tools/dist_train.sh: the lr then follows the total batch
# (mmpretrain's auto_scale_lr.base_batch_size=256), as the reference's.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    '../../_base_/projkd_runtime.py',
    '../../_base_/models/pefd_distill.py',
]

# mmpretrain model zoo ResNet34 (73.62% top-1). Offline: download it and pass
# --cfg-options model.teacher_ckpt=/path/resnet34_8xb32_in1k.pth

# Completes the base's normalisation settings into a buildable config; the
# Runner hands it to the algorithm, which feeds student and teacher alike.
data_preprocessor = dict(type='mmpretrain.ClsDataPreprocessor')

model = dict(
    # Shape of one input: a dry forward pass on it at build time checks the
    # projector widths (or infers those left out) before training starts.
    input_size=(3, 224, 224),
    architecture=dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        # The reference's students are torchvision's: no zero-initialised
        # last BN of each residual block (mmpretrain's ResNet default), and
        # the classifier keeps nn.Linear's own init (mmpretrain: N(0, 0.01)).
        backbone=dict(type='ResNet', depth=18, num_stages=4,
                      out_indices=(3, ), style='pytorch',
                      zero_init_residual=False),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=512,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
                  topk=(1, 5), init_cfg=None)),
    teacher=dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=34, num_stages=4,
                      out_indices=(3, ), style='pytorch'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=512,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
                  topk=(1, 5))),
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/resnet/resnet34_8xb32_in1k_20210831-f257d4e6.pth',
    # Ensemble of 3 projectors 512 -> 512 on the penultimate features, loss
    # 12.5 x batchmean == 25 x mean(1 - cos): ../_base_/models/pefd_distill.py
    distiller=dict(
        connectors=dict(projector=dict(in_channels=512, out_channels=512))))

# mmengine's default optimizer-wrapper constructor, naming a misspelt
# optimizer type (projkd_mm/engine/optimizers/).
optim_wrapper = dict(constructor='CheckedOptimWrapperConstructor')

# Also reports the teacher's accuracy (a wrong teacher shows up at once),
# evaluating the frozen teacher once per process: projkd_mm/engine/loops.py.
val_cfg = dict(_delete_=True, type='FrozenTeacherDistillValLoop')

# The paper reports the best epoch: keep it (by the student's top-1).
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3,
                    save_best='accuracy/top1', rule='greater'))
