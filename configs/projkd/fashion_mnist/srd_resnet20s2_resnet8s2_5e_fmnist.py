# SRD (Miles & Mikolajczyk, "Understanding the Role of the Projector in
# Knowledge Distillation", AAAI 2024) on the pair of the full Fashion-MNIST
# study, beside pefd_resnet20s2_resnet8s2_5e_fmnist.py: the same data,
# teacher, student, optimizer and schedule; only the distiller differs.
# The recipe of the authors' code (roymiles/Simple-Recipe-Distillation):
# ONE linear projector 64 -> 64 without activation on the student's pooled
# feature; both features batch-normalised without affine parameters
# (eps 1e-4); 2 x log(sum over batch and channels of |z_s - z_t|^4)
# + KL(T=1) x 1 + cross-entropy x 1 (the student head's own loss, as in the
# base). Where ours follows their code: the SRDLoss docstring.
_base_ = './pefd_resnet20s2_resnet8s2_5e_fmnist.py'

model = dict(
    distiller=dict(
        _delete_=True,
        type='CheckedConfigurableDistiller',
        # Penultimate features (the neck's pooled (N, C)) and logits.
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck'),
            logits=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck'),
            logits=dict(type='ModuleOutputs', source='head.fc')),
        connectors=dict(
            # nn.Linear(64, 64): one member, no activation.
            projector=dict(type='ProjectorEnsembleConnector',
                           in_channels=64, out_channels=64,
                           num_projectors=1, act_cfg=None)),
        distill_losses=dict(
            loss_srd=dict(type='SRDLoss', loss_weight=2.0, exponent=4.0,
                          eps=1e-4),
            loss_kd=dict(type='KLDivergence', tau=1, loss_weight=1.0,
                         reduction='batchmean')),
        loss_forward_mappings=dict(
            loss_srd=dict(
                s_feature=dict(from_student=True, recorder='feat',
                               data_idx=0, connector='projector'),
                t_feature=dict(from_student=False, recorder='feat',
                               data_idx=0)),
            loss_kd=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits')))))
