# The student of the studies' pair trained alone with cross-entropy: 5
# epochs over all 60,000 training images, lr 0.05 divided by 10 after
# epochs 3 and 4. A short schedule, chosen for cost: the student has not
# converged by then (15 epochs gain about 3 points on the held-out split:
# docs/ablation.md, "Has the student converged?").
_base_ = [
    '../../_base_/models/fashion_mnist_s2_resnets.py',
    '../../_base_/datasets/fashion_mnist_bs128.py',
    '../../_base_/schedules/fashion_mnist_5e.py',
    '../../_base_/projkd_runtime.py',
]
model = _base_.student_model
