# A CPU-sized version of the CIFAR recipe: SGD momentum 0.9, wd 5e-4,
# lr 0.05 with x0.1 steps late in training.
# CheckedOptimWrapperConstructor: mmengine's default constructor, naming a
# misspelt optimizer type (projkd_mm/engine/optimizers/).
optim_wrapper = dict(
    constructor='CheckedOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[6, 8], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict()
test_cfg = dict()
