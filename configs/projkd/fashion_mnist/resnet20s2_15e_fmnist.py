# The teacher of the studies' pair (tools/ablation.py --preset short),
# trained alone on all 60,000 training images: 15 epochs, lr 0.05 divided
# by 10 after epochs 9 and 12.
_base_ = [
    '../../_base_/models/fashion_mnist_s2_resnets.py',
    '../../_base_/datasets/fashion_mnist_bs128.py',
    '../../_base_/schedules/fashion_mnist_10e.py',
    '../../_base_/projkd_runtime.py',
]
model = _base_.teacher_model
train_cfg = dict(max_epochs=15)
param_scheduler = dict(milestones=[9, 12])
