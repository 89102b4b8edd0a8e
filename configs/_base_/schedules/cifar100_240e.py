# The RepDistiller/CRD CIFAR-100 schedule used by PEFD: SGD momentum 0.9,
# weight decay 5e-4 on every trained parameter (projectors included),
# lr 0.05 (0.01 for MobileNetV2/ShuffleNet students: override optimizer.lr),
# x0.1 after epochs 150, 180 and 210, 240 epochs, batch 64 on 1 GPU.
# CheckedOptimWrapperConstructor: mmengine's default constructor, naming a
# misspelt optimizer type (projkd_mm/engine/optimizers/).
optim_wrapper = dict(
    constructor='CheckedOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=240, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# With --auto-scale-lr, the lr follows the total batch size from 64.
auto_scale_lr = dict(base_batch_size=64)
