# The Fashion-MNIST teacher, trained alone (plain mmpretrain classifier).
_base_ = [
    '../../_base_/models/fashion_mnist_resnets.py',
    '../../_base_/datasets/fashion_mnist_bs128.py',
    '../../_base_/schedules/fashion_mnist_10e.py',
    '../../_base_/projkd_runtime.py',
]
model = _base_.teacher_model
default_hooks = dict(logger=dict(interval=20))
