# A cosine learning-rate schedule to 0, stepped at every iteration: a config
# on a step schedule takes it as
#   param_scheduler = dict(_delete_=True, T_max=EPOCHS, **_base_.cosine_lr)
# with train_cfg.max_epochs = EPOCHS (tools/ablation.py sets the same keys
# with cfg-options: projkd_tools.study.cosine_schedule).
cosine_lr = dict(
    type='CosineAnnealingLR',
    by_epoch=True,
    eta_min=0.0,
    # Annealed at every iteration, not once per epoch.
    convert_to_iter_based=True)
