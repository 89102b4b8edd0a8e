# Heterogeneous pair: the CNN teacher of the studies (ResNet-20, stride-2
# stem) -> a tiny ViT student (4x4 patches), on the studies' 5-epoch recipe
# (../../_base_/recipes/pefd_5e_fmnist.py). The student's penultimate
# feature is its class token, recorded at `backbone` (data_idx 0;
# ../../_base_/families/vit.py); the projector widths (64 -> 64) are
# inferred by the dry run on model.input_size. Optimizer as
# vit-p4_5e_fmnist.py.
_base_ = [
    '../../_base_/models/fashion_mnist_s2_resnets.py',
    '../../_base_/recipes/pefd_5e_fmnist.py',
    '../../_base_/families/vit.py',
]

model = dict(
    architecture=dict(_scope_='mmpretrain', **_base_.vit_student_model),
    teacher=dict(_scope_='mmpretrain', **_base_.teacher_model),
    # As ./pefd_resnet20s2_resnet8s2_5e_fmnist.py: the studies pass theirs.
    teacher_ckpt='work_dirs/resnet20s2_15e_fmnist/epoch_15.pth',
    distiller=dict(
        student_recorders=dict(feat=_base_.vit_recorder)))
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3,
                   weight_decay=0.05))
