# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022) on
# Fashion-MNIST: the same algorithm, recorders and loss as
# configs/projkd/imagenet/pefd_resnet34_resnet18_100e_in1k.py, sized for 2 CPU cores.
_base_ = [
    '../../_base_/models/fashion_mnist_resnets.py',
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
    #   configs/projkd/fashion_mnist/resnet14_10e_fmnist.py
    # (tools/demo.py and tools/ablation.py train their own teacher and pass
    # it with --cfg-options model.teacher_ckpt=...).
    teacher_ckpt='work_dirs/resnet14_10e_fmnist/epoch_10.pth',
    # Ensemble of 3 projectors 64 -> 64 on the penultimate features, loss
    # 12.5 x batchmean == 25 x mean(1 - cos): _base_/models/pefd_distill.py
    distiller=dict(
        connectors=dict(projector=dict(in_channels=64, out_channels=64))))

val_cfg = dict(_delete_=True, type='FrozenTeacherDistillValLoop')
default_hooks = dict(logger=dict(interval=20))
