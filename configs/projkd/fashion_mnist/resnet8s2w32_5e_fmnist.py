# The narrower student of the full Fashion-MNIST study (ending in 32
# channels) trained alone with cross-entropy.
_base_ = './resnet8s2_5e_fmnist.py'
model = dict(_delete_=True, **_base_.narrow_student_model)
