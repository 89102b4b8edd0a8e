# The projector-ensemble distillation algorithm (Chen et al., NeurIPS 2022)
# on penultimate features, shared by every PEFD config through its recipe
# (../recipes/). The recipe and the config add `architecture` (student),
# `teacher`, `teacher_ckpt`, and the projector's widths:
# distiller.connectors.projector.in_channels (student feature) and
# out_channels (teacher feature).
model = dict(
    _scope_='mmrazor',
    type='CheckedSingleTeacherDistill',
    # The frozen teacher runs in its own precision and layout, whatever the
    # student trains in (docs/config_anatomy.md, "A cheaper teacher"):
    # bf16 autocast where the device computes bf16 natively (Ampere+ GPUs,
    # AVX512/AMX CPUs), fp32 elsewhere ('auto'; the choice is logged), in
    # channels_last; its outputs reach the losses in fp32 and its weights
    # stay fp32. Measured in docs/benchmarks.md ("A cheap teacher"): same
    # teacher predictions, cheaper steps. The exact teacher is one key
    # away: teacher_dtype='fp32', teacher_memory_format='contiguous'.
    teacher_dtype='auto',
    teacher_memory_format='channels_last',
    distiller=dict(
        # mmrazor's ConfigurableDistiller whose recorder mistakes are errors
        # naming the source and the fix (projkd_mm/models/distillers/).
        type='CheckedConfigurableDistiller',
        # Penultimate features: the pooled (N, C) output of the neck.
        student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        connectors=dict(
            projector=dict(type='ProjectorEnsembleConnector',
                           num_projectors=3)),
        distill_losses=dict(
            # The reference's weight on its direction loss: FeatureMSELoss's
            # docstring (projkd_mm/models/losses/feature_mse_loss.py).
            loss_pefd=dict(type='FeatureMSELoss', loss_weight=12.5,
                           normalize=True, reduction='batchmean')),
        loss_forward_mappings=dict(
            loss_pefd=dict(
                s_feature=dict(from_student=True, recorder='feat',
                               data_idx=0, connector='projector'),
                t_feature=dict(from_student=False, recorder='feat',
                               data_idx=0)))))

# For the "no projector" ablations: the same loss fed the student's feature
# directly (both widths must agree). Use as
#   distiller=dict(connectors=dict(_delete_=True),
#                  loss_forward_mappings=dict(_delete_=True,
#                                             **_base_.noproj_mappings))
noproj_mappings = dict(
    loss_pefd=dict(
        s_feature=dict(from_student=True, recorder='feat', data_idx=0),
        t_feature=dict(from_student=False, recorder='feat', data_idx=0)))

# Logit KD (Hinton et al., 2015) with mmrazor's KLDivergence, T = 4
# (scaled by T^2), weight 1 on top of cross-entropy x 1: Hinton's weights,
# the `kd-hinton_*` configs. Use as
#   distiller=dict(_delete_=True, **_base_.kd_distiller)
kd_distiller = dict(
    type='CheckedConfigurableDistiller',
    student_recorders=dict(
        logits=dict(type='ModuleOutputs', source='head.fc')),
    teacher_recorders=dict(
        logits=dict(type='ModuleOutputs', source='head.fc')),
    distill_losses=dict(
        loss_kd=dict(type='KLDivergence', tau=4, loss_weight=1.0)),
    loss_forward_mappings=dict(
        loss_kd=dict(
            preds_S=dict(from_student=True, recorder='logits'),
            preds_T=dict(from_student=False, recorder='logits'))))

# Logit KD as the reference runs its KD baseline (chenyd7/PEFD,
# scripts/run_cifar.sh, -r 0.1 -b 0.9): KL(T=4) x 0.9; the config also sets
# the student's cross-entropy to 0.1, as the `*_kd` configs do:
#   architecture=dict(head=dict(loss=dict(loss_weight=0.1))),
#   distiller=dict(_delete_=True, **_base_.kd_distiller_reference)
kd_distiller_reference = dict(
    kd_distiller,
    distill_losses=dict(
        loss_kd=dict(type='KLDivergence', tau=4, loss_weight=0.9)))

# An intermediate stage distilled as well as the penultimate feature: the
# output of backbone.layer2 (the last-but-one stage of the ResNets) with its
# own projector ensemble (1x1 per location on an (N, C, H, W) map, widths
# inferred from model.input_size) and its own loss term. The teacher map is
# average-pooled to the student's size where the two differ
# (teacher_pool='adaptive_avg'). Normalised per sample (the whole map is one
# vector), as the penultimate term: each term is then at most 4 per sample,
# so the same weight puts the two on one scale; per location
# (normalize_over='location') would sum H*W cosine terms instead. Merge it
# into a PEFD config's distiller (another stage: change both sources):
#   model = dict(distiller=_base_.stage2_distiller)
stage2_distiller = dict(
    student_recorders=dict(
        stage=dict(type='ModuleOutputs', source='backbone.layer2')),
    teacher_recorders=dict(
        stage=dict(type='ModuleOutputs', source='backbone.layer2')),
    connectors=dict(
        stage_projector=dict(type='ProjectorEnsembleConnector',
                             num_projectors=3)),
    distill_losses=dict(
        loss_stage=dict(type='FeatureMSELoss', loss_weight=12.5,
                        normalize=True, reduction='batchmean',
                        normalize_over='sample',
                        teacher_pool='adaptive_avg')),
    loss_forward_mappings=dict(
        loss_stage=dict(
            s_feature=dict(from_student=True, recorder='stage',
                           connector='stage_projector'),
            t_feature=dict(from_student=False, recorder='stage'))))
