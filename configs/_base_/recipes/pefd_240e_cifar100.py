# PEFD on CIFAR-100 with the RepDistiller/CRD recipe the reference code
# uses: what every configs/projkd/cifar100/*_240e_cifar100.py shares (data
# and schedule: ../datasets/cifar100_bs64.py, ../schedules/cifar100_240e.py).
# A config on it gives the two networks (../models/cifar100_nets.py: the
# backbones, the heads' in_channels and the student head's init where the
# reference's differs), the teacher checkpoint, the projector widths
# (checked by a dry run on model.input_size) and, for MobileNetV2/
# ShuffleNet students, the reference's lr 0.01.
_base_ = [
    '../datasets/cifar100_bs64.py',
    '../schedules/cifar100_240e.py',
    '../projkd_runtime.py',
    '../models/pefd_linear_classifiers.py',
]

model = dict(
    # Shape of one input: a dry forward pass on it at build time checks the
    # projector widths (or infers those left out) before training starts.
    input_size=(3, 32, 32),
    architecture=dict(
        head=dict(num_classes=100,
                  # The student's classifier starts as the reference's:
                  # PyTorch's nn.Linear init (mmpretrain's default is
                  # N(0, 0.01)). Per student arch: projkd_mm/zoo.py
                  # (head_init); docs/model_zoo.md "Differences".
                  init_cfg=None)),
    teacher=dict(head=dict(num_classes=100)))

# Also reports the teacher's accuracy (a wrong teacher shows up at once),
# evaluating the frozen teacher once per process: projkd_mm/engine/loops.py.
val_cfg = dict(_delete_=True, type='FrozenTeacherDistillValLoop')

# The reference reports the best epoch's test accuracy: keep that checkpoint
# (by the student's top-1; the teacher's is logged as teacher.accuracy/top1).
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='accuracy/top1', rule='greater'))
