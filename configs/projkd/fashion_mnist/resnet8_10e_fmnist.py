# The Fashion-MNIST student trained alone with cross-entropy: the baseline
# every distillation method must beat (the recipe of its teacher,
# resnet14_10e_fmnist.py).
_base_ = [
    '../../_base_/models/fashion_mnist_resnets.py',
    '../../_base_/datasets/fashion_mnist_bs128.py',
    '../../_base_/schedules/fashion_mnist_10e.py',
    '../../_base_/projkd_runtime.py',
]
model = _base_.student_model
default_hooks = dict(logger=dict(interval=20))
