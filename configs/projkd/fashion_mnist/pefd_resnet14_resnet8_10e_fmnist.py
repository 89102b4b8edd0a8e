# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022) on
# Fashion-MNIST, ResNet-14 teacher -> ResNet-8 student (both ending in 64
# channels): the algorithm, recorders and loss of the ImageNet and
# CIFAR-100 configs on a recipe sized for 2 CPU cores
# (../../_base_/recipes/pefd_10e_fmnist.py).
_base_ = [
    '../../_base_/models/fashion_mnist_resnets.py',
    '../../_base_/recipes/pefd_10e_fmnist.py',
]

model = dict(
    architecture=dict(_scope_='mmpretrain', **_base_.student_model),
    teacher=dict(_scope_='mmpretrain', **_base_.teacher_model),
    # The last checkpoint of: python tools/train.py
    #   configs/projkd/fashion_mnist/resnet14_10e_fmnist.py
    # (tools/demo.py and tools/ablation.py train their own teacher and pass
    # it with --cfg-options model.teacher_ckpt=...).
    teacher_ckpt='work_dirs/resnet14_10e_fmnist/epoch_10.pth',
    distiller=dict(connectors=dict(
        projector=dict(in_channels=64, out_channels=64))))

default_hooks = dict(logger=dict(interval=20))
