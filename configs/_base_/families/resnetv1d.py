# ResNetV1d (ResNet-D, mmpretrain `ResNetV1d`): the penultimate feature is
# the output of the GlobalAveragePooling neck, (N, C), data_idx 0 (the neck
# returns a 1-tuple). C: 512 for ResNetV1d-18/34, 2048 for -50+.
# Use in a PEFD config (the table: projkd_mm/families.py,
# docs/custom_pair.md):
#   distiller=dict(student_recorders=dict(feat=_base_.resnetv1d_recorder))
resnetv1d_recorder = dict(type='ModuleOutputs', source='neck')
