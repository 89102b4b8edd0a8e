# The pair whose widths differ: the ResNet-20 teacher of the studies (64
# channels) and a narrower ResNet-8 student ending in 32 channels;
# ensemble of 3 projectors 32 -> 64 (../../_base_/recipes/pefd_5e_fmnist.py).
_base_ = [
    '../../_base_/models/fashion_mnist_s2_resnets.py',
    '../../_base_/recipes/pefd_5e_fmnist.py',
]

model = dict(
    architecture=dict(_scope_='mmpretrain', **_base_.narrow_student_model),
    teacher=dict(_scope_='mmpretrain', **_base_.teacher_model),
    # As ./pefd_resnet20s2_resnet8s2_5e_fmnist.py: the studies pass theirs.
    teacher_ckpt='work_dirs/resnet20s2_15e_fmnist/epoch_15.pth',
    distiller=dict(connectors=dict(
        projector=dict(in_channels=32, out_channels=64))))
