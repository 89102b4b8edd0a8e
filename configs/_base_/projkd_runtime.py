# Runtime pieces every projkd_mm config shares.

# Registers projkd_mm's components and makes mmrazor 1.0.0 importable on
# torch 2. Lets any OpenMMLab tool (and tools/ of this repo) run these configs.
custom_imports = dict(imports=['projkd_mm'], allow_failed_imports=False)

# To see the loss terms in TensorBoard (pip install tensorboard), put these
# lines in the experiment config itself, not in this file: mmpretrain's
# default_runtime (a sibling base) defines both names and MMEngine refuses a
# key defined by two bases ("Duplicate key is not allowed among bases").
# vis_backends = [dict(type='LocalVisBackend'),
#                 dict(type='TensorboardVisBackend')]
# visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
# From the command line instead (TensorBoard in place of the local backend,
# whose vis_data/scalars.json tools/demo.py and tools/ablation.py read):
#   --cfg-options visualizer.vis_backends.0.type=TensorboardVisBackend

# Saves the Python/numpy/torch random generators in every checkpoint and
# restores them on --resume, so a resumed run augments its data exactly as an
# uninterrupted one (projkd_mm/engine/hooks/rng_state_hook.py). A config that
# sets its own custom_hooks should keep this entry.
custom_hooks = [dict(type='RNGStateHook')]
