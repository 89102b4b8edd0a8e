# fashion_mnist_10e.py over 5 epochs (the studies' students, on all 60,000
# training images): lr 0.05, x0.1 after epochs 3 and 4.
_base_ = ['./fashion_mnist_10e.py']
train_cfg = dict(max_epochs=5)
param_scheduler = dict(milestones=[3, 4])
