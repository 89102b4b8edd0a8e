# Baseline: logit KD through a logit projector, the reference repository's
# `kd1proj` (chenyd7/PEFD, train_student.py): one trainable linear layer
# num_classes -> num_classes (with bias, nn.Linear's init, no activation)
# on the student's logits before KL(T=4); cross-entropy x 0.1 on the
# student's own logits + KL x 0.9, as scripts/run_cifar.sh runs it.
_base_ = './kd_resnet20s2_resnet8s2_5e_fmnist.py'

model = dict(
    distiller=dict(
        connectors=dict(
            logit_projector=dict(type='ProjectorEnsembleConnector',
                                 in_channels=10, out_channels=10,
                                 num_projectors=1, act_cfg=None)),
        loss_forward_mappings=dict(
            loss_kd=dict(preds_S=dict(connector='logit_projector')))))
