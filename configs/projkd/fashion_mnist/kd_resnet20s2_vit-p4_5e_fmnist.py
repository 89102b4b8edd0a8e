# Heterogeneous pair, logit KD as the reference (CE 0.1 + KL(T=4) 0.9): the
# ViT's logits come from head.layers.head (VisionTransformerClsHead).
_base_ = './kd_resnet20s2_resnet8s2_5e_fmnist.py'

model = dict(
    architecture=dict(
        _delete_=True,
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=_base_.vit_student_model.backbone,
        head=dict(type='VisionTransformerClsHead', num_classes=10,
                  in_channels=64,
                  loss=dict(type='CrossEntropyLoss', loss_weight=0.1))),
    distiller=dict(
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.layers.head'))))
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3,
                   weight_decay=0.05))
