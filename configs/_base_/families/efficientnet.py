# EfficientNet (mmpretrain `EfficientNet`): the penultimate feature is the
# output of the GlobalAveragePooling neck, (N, C), data_idx 0 (the neck
# returns a 1-tuple). C: 1280 for B0/B1, 1408 for B2, 1536 for B3.
# Use in a PEFD config (the table: projkd_mm/families.py,
# docs/custom_pair.md):
#   distiller=dict(student_recorders=dict(feat=_base_.efficientnet_recorder))
efficientnet_recorder = dict(type='ModuleOutputs', source='neck')
