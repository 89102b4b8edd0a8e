# Runtime pieces every projkd_mm config shares: mmpretrain's default runtime
# and what projkd_mm adds to it.
_base_ = ['mmpretrain::_base_/default_runtime.py']

# Registers projkd_mm's components and makes mmrazor 1.0.0 importable on
# torch 2. Lets any OpenMMLab tool (and tools/ of this repo) run these configs.
custom_imports = dict(imports=['projkd_mm'], allow_failed_imports=False)

# Checkpoints are written atomically (through <name>.tmp and a rename), so a
# run killed while saving never leaves a truncated epoch_N.pth for --resume
# to take: projkd_mm's 'atomic_local' storage backend (projkd_mm/fileio.py;
# workaround 'atomic-checkpoint-writes' in docs/faq.md). Other files the
# Runner writes (logs, scalars) are mmengine's as usual.
default_hooks = dict(
    checkpoint=dict(backend_args=dict(backend='atomic_local')))

# Checkpoints (load_from, --resume) are read under projkd_mm's trust policy:
# on torch >= 2.6 mmengine 0.10.7 cannot load its own checkpoints, and it
# would execute a checkpoint's meta['config'] on resume
# (projkd_mm/engine/runner.py). OpenMMLab tools build this Runner
# (RUNNERS.build(cfg)); Runner.from_cfg ignores the key.
runner_type = 'SafeCheckpointRunner'

# To see the loss terms in TensorBoard (pip install tensorboard), put these
# lines in the experiment config:
# vis_backends = [dict(type='LocalVisBackend'),
#                 dict(type='TensorboardVisBackend')]
# visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
# From the command line instead (TensorBoard in place of the local backend,
# whose vis_data/scalars.json tools/demo.py and tools/ablation.py read):
#   --cfg-options visualizer.vis_backends.0.type=TensorboardVisBackend

# Saves the Python/numpy/torch random generators in every checkpoint and
# restores them on --resume, so a resumed run augments its data exactly as an
# uninterrupted one (projkd_mm/engine/hooks/rng_state_hook.py).
# TeacherCacheHook checks, before training from a teacher cache
# (model.teacher_cache), that the cache was built over this run's training
# images and pipeline; without a cache it does nothing. A config that sets
# its own custom_hooks should keep both entries.
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherCacheHook')]
