# ./pefd_10e_fmnist.py over 5 epochs, as ../schedules/fashion_mnist_5e.py:
# what every configs/projkd/fashion_mnist/*_5e_fmnist.py distillation config
# shares, the pairs of the studies (tools/ablation.py --preset short, full)
# on all 60,000 training images. A config on it gives the two models (from
# ../models/fashion_mnist_s2_resnets.py), the teacher checkpoint and the
# projector widths.
_base_ = ['./pefd_10e_fmnist.py']
train_cfg = dict(max_epochs=5)
param_scheduler = dict(milestones=[3, 4])
