# MobileNetV2 (mmpretrain `MobileNetV2`): the penultimate feature is the
# output of the GlobalAveragePooling neck, (N, 1280) for any
# widen_factor <= 1, data_idx 0 (the neck returns a 1-tuple).
# Use in a PEFD config (the table: projkd_mm/families.py,
# docs/custom_pair.md):
#   distiller=dict(student_recorders=dict(feat=_base_.mobilenetv2_recorder))
mobilenetv2_recorder = dict(type='ModuleOutputs', source='neck')
