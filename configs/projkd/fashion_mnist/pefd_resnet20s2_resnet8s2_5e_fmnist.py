# Projector-ensemble feature distillation on the pair of the full
# Fashion-MNIST study (tools/ablation.py --preset short): ensemble of 3
# projectors 64 -> 64 on the penultimate features, the student's schedule
# of resnet8s2_5e_fmnist.py.
_base_ = [
    '../../_base_/models/fashion_mnist_s2_resnets.py',
    '../../_base_/datasets/fashion_mnist_bs128.py',
    '../../_base_/schedules/fashion_mnist_10e.py',
    '../../_base_/projkd_runtime.py',
    '../../_base_/models/pefd_distill.py',
]

data_preprocessor = dict(type='mmpretrain.ClsDataPreprocessor')

model = dict(
    # Shape of one input: a dry forward pass on it at build time checks the
    # projector widths (or infers those left out) before training starts.
    input_size=(1, 28, 28),
    architecture=dict(_scope_='mmpretrain', **_base_.student_model),
    teacher=dict(_scope_='mmpretrain', **_base_.teacher_model),
    # The last checkpoint of: python tools/train.py
    #   configs/projkd/fashion_mnist/resnet20s2_15e_fmnist.py
    # (tools/ablation.py --preset short trains its own and passes it).
    teacher_ckpt='work_dirs/resnet20s2_15e_fmnist/epoch_15.pth',
    distiller=dict(
        connectors=dict(projector=dict(in_channels=64, out_channels=64))))

train_cfg = dict(max_epochs=5)
param_scheduler = dict(milestones=[3, 4])
val_cfg = dict(_delete_=True, type='FrozenTeacherDistillValLoop')
default_hooks = dict(logger=dict(interval=100))
