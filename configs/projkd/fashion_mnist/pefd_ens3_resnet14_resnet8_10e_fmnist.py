# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022) on
# Fashion-MNIST: the same algorithm, recorders and loss as
# configs/projkd/r34_r18_imagenet_ens3.py, sized for 2 CPU cores.
_base_ = [
    '../../_base_/models/fashion_mnist_resnets.py',
    '../../_base_/datasets/fashion_mnist_bs128.py',
    '../../_base_/schedules/fashion_mnist_10e.py',
    'mmpretrain::_base_/default_runtime.py',
    '../../_base_/projkd_runtime.py',
]

data_preprocessor = dict(type='mmpretrain.ClsDataPreprocessor')

model = dict(
    _scope_='mmrazor',
    type='CheckedSingleTeacherDistill',
    architecture=dict(_scope_='mmpretrain', **_base_.student_model),
    teacher=dict(_scope_='mmpretrain', **_base_.teacher_model),
    # Written by: python tools/train.py
    #   configs/projkd/fashion_mnist/resnet14_10e_fmnist.py (tools/demo.py
    #   does it and passes the checkpoint here).
    teacher_ckpt='work_dirs/resnet14_10e_fmnist/teacher.pth',
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        connectors=dict(
            projector=dict(type='ProjectorEnsembleConnector',
                           in_channels=64, out_channels=64,
                           num_projectors=3)),
        distill_losses=dict(
            # 12.5 x ||s/|s| - t/|t|||^2 (batchmean) == 25 x mean(1 - cos).
            loss_pefd=dict(type='FeatureMSELoss', loss_weight=12.5)),
        loss_forward_mappings=dict(
            loss_pefd=dict(
                s_feature=dict(from_student=True, recorder='feat',
                               data_idx=0, connector='projector'),
                t_feature=dict(from_student=False, recorder='feat',
                               data_idx=0)))))

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
default_hooks = dict(logger=dict(interval=20))
