# Baseline: logit KD (Hinton et al., 2015) with mmrazor's KLDivergence,
# T = 4, weight 1 on top of cross-entropy; no feature term.
_base_ = './pefd_ens3_resnet14_resnet8_10e_fmnist.py'

model = dict(
    distiller=dict(
        _delete_=True,
        type='ConfigurableDistiller',
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_kd=dict(type='KLDivergence', tau=4, loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_kd=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits')))))
