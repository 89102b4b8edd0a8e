# Projector-ensemble feature distillation on the pair of the Fashion-MNIST
# studies (tools/ablation.py --preset short, full), ResNet-20 teacher ->
# ResNet-8 student, both with a stride-2 stem and ending in 64 channels:
# ensemble of 3 projectors 64 -> 64 on the penultimate features, the
# student's 5-epoch schedule (../../_base_/recipes/pefd_5e_fmnist.py).
_base_ = [
    '../../_base_/models/fashion_mnist_s2_resnets.py',
    '../../_base_/recipes/pefd_5e_fmnist.py',
]

model = dict(
    architecture=dict(_scope_='mmpretrain', **_base_.student_model),
    teacher=dict(_scope_='mmpretrain', **_base_.teacher_model),
    # The last checkpoint of: python tools/train.py
    #   configs/projkd/fashion_mnist/resnet20s2_15e_fmnist.py
    # (tools/ablation.py trains or takes its own and passes it).
    teacher_ckpt='work_dirs/resnet20s2_15e_fmnist/epoch_15.pth',
    distiller=dict(connectors=dict(
        projector=dict(in_channels=64, out_channels=64))))
