# The student of the full Fashion-MNIST study trained alone with
# cross-entropy on a cosine schedule: 15 epochs, lr 0.05 annealed to 0 step
# by step. The schedule search of docs/ablation.md ("Has the student
# converged?") runs it on the held-out split at other lengths with
#   --cfg-options train_cfg.max_epochs=E param_scheduler.T_max=E
_base_ = [
    './resnet8s2_5e_fmnist.py',
    '../../_base_/schedules/cosine_lr.py',
]
train_cfg = dict(max_epochs=15)
param_scheduler = dict(_delete_=True, T_max=15, **_base_.cosine_lr)
