# Runtime pieces every projkd_mm config shares.

# Registers projkd_mm's components and makes mmrazor 1.0.0 importable on
# torch 2. Lets any OpenMMLab tool (and tools/ of this repo) run these configs.
custom_imports = dict(imports=['projkd_mm'], allow_failed_imports=False)

# To see the loss terms in TensorBoard (pip install tensorboard):
# vis_backends = [dict(type='LocalVisBackend'),
#                 dict(type='TensorboardVisBackend')]
# visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
