# Heterogeneous pair, logit KD as the reference (CE 0.1 + KL(T=4) 0.9,
# kd_distiller_reference of ../../_base_/models/pefd_distill.py): the
# ViT's logits come from head.layers.head (VisionTransformerClsHead).
_base_ = './pefd_resnet20s2_vit-p4_5e_fmnist.py'

model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=0.1))),
    distiller=dict(
        _delete_=True,
        **dict(_base_.kd_distiller_reference,
               student_recorders=dict(
                   logits=dict(type='ModuleOutputs',
                               source='head.layers.head')))))
