# PEFD on Fashion-MNIST, sized for 2 CPU cores: what every
# configs/projkd/fashion_mnist/*_10e_fmnist.py distillation config shares.
# The same algorithm, recorders and loss as the ImageNet and CIFAR-100
# configs; a config on it gives the two models (from
# ../models/fashion_mnist_*.py), the teacher checkpoint and the projector
# widths.
_base_ = [
    '../datasets/fashion_mnist_bs128.py',
    '../schedules/fashion_mnist_10e.py',
    '../projkd_runtime.py',
    '../models/pefd_distill.py',
]

# Completes the dataset base's normalisation settings into a buildable
# config; the Runner hands it to the algorithm, which feeds student and
# teacher alike.
data_preprocessor = dict(type='mmpretrain.ClsDataPreprocessor')

# Shape of one input: a dry forward pass on it at build time checks the
# projector widths (or infers those left out) before training starts.
model = dict(input_size=(1, 28, 28))

# Also reports the teacher's accuracy, evaluating the frozen teacher once
# per process: projkd_mm/engine/loops.py.
val_cfg = dict(_delete_=True, type='FrozenTeacherDistillValLoop')
