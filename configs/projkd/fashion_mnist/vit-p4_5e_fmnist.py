# The heterogeneous pair's student trained alone: a tiny ViT on 28x28 grey
# images, 4x4 patches (49 tokens + the class token), 3 layers of width 64,
# 105 k parameters; AdamW (transformers train poorly with the CNNs' SGD),
# lr 1e-3, weight decay 0.05, x0.1 after epochs 3 and 4, 5 epochs.
_base_ = [
    '../../_base_/models/fashion_mnist_s2_resnets.py',
    '../../_base_/datasets/fashion_mnist_bs128.py',
    '../../_base_/schedules/fashion_mnist_5e.py',
    '../../_base_/projkd_runtime.py',
]
model = _base_.vit_student_model
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3,
                   weight_decay=0.05))
