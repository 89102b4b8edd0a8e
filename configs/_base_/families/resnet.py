# ResNet family (mmpretrain `ResNet`, `ResNetV1c`): the penultimate feature
# is the output of the GlobalAveragePooling neck, (N, C), data_idx 0 (the
# neck returns a 1-tuple). C: 512 for ResNet-18/34, 2048 for ResNet-50+.
# Use in a PEFD config (the table: projkd_mm/families.py,
# docs/custom_pair.md):
#   distiller=dict(student_recorders=dict(feat=_base_.resnet_recorder))
resnet_recorder = dict(type='ModuleOutputs', source='neck')
