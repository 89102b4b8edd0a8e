# The narrower student of the studies (ending in 32 channels) trained alone
# with cross-entropy, on the schedule of resnet8s2_5e_fmnist.py.
_base_ = [
    '../../_base_/models/fashion_mnist_s2_resnets.py',
    '../../_base_/datasets/fashion_mnist_bs128.py',
    '../../_base_/schedules/fashion_mnist_5e.py',
    '../../_base_/projkd_runtime.py',
]
model = _base_.narrow_student_model
