# MobileNetV3 (mmpretrain `MobileNetV3`): the penultimate feature is the
# output of the GlobalAveragePooling neck, the vector the head
# (StackedLinearClsHead) consumes: (N, 576) for Small, (N, 960) for Large,
# data_idx 0 (the neck returns a 1-tuple). The head's own hidden layer
# (1024 / 1280, after HSwish and dropout) is source='head.layers.0'.
# Use in a PEFD config (the table: projkd_mm/families.py,
# docs/custom_pair.md):
#   distiller=dict(student_recorders=dict(feat=_base_.mobilenetv3_recorder))
mobilenetv3_recorder = dict(type='ModuleOutputs', source='neck')
