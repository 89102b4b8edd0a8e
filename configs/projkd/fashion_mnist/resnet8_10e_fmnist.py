# The Fashion-MNIST student trained alone with cross-entropy: the baseline
# every distillation method must beat.
_base_ = './resnet14_10e_fmnist.py'
model = dict(_delete_=True, **_base_.student_model)
