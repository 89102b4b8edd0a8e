# PEFD on ImageNet-1k with the paper's recipe: what every
# configs/projkd/imagenet/*_100e_in1k.py shares. SGD lr 0.1, momentum 0.9,
# wd 1e-4, 100 epochs, x0.1 at 30/60/90, total batch 256 (8 GPUs x 32). On
# fewer GPUs pass --auto-scale-lr to tools/train.py or tools/dist_train.sh:
# the lr then follows the total batch (mmpretrain's
# auto_scale_lr.base_batch_size=256), as the reference's.
# A config on it gives the two networks (../models/imagenet_nets.py or
# a family base: the backbones and the heads' in_channels), the teacher
# checkpoint and the projector widths (or None: inferred).
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    '../projkd_runtime.py',
    '../models/pefd_linear_classifiers.py',
]

# Completes the dataset base's normalisation settings into a buildable
# config; the Runner hands it to the algorithm, which feeds student and
# teacher alike.
data_preprocessor = dict(type='mmpretrain.ClsDataPreprocessor')

model = dict(
    # Shape of one input: a dry forward pass on it at build time checks the
    # projector widths (or infers those left out) before training starts.
    input_size=(3, 224, 224),
    # The reference's students are torchvision's: the classifier keeps
    # nn.Linear's own init (mmpretrain: N(0, 0.01)).
    architecture=dict(head=dict(num_classes=1000, init_cfg=None)),
    # An mmpretrain model zoo classifier: pooled feature, linear head.
    teacher=dict(head=dict(num_classes=1000)))

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
