# The Fashion-MNIST student trained alone with cross-entropy: the baseline
# every distillation method must beat (the recipe of its teacher,
# resnet14_10e_fmnist.py).
_base_ = './resnet14_10e_fmnist.py'
model = dict(_delete_=True, **_base_.student_model)
