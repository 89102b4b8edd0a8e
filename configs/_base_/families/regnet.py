# RegNet (mmpretrain `RegNet`): the penultimate feature is the output of the
# GlobalAveragePooling neck, (N, C), data_idx 0 (the neck returns a
# 1-tuple). C: 384 for RegNetX-400MF, 672 for -800MF, 912 for -1.6GF.
# Use in a PEFD config (the table: projkd_mm/families.py,
# docs/custom_pair.md):
#   distiller=dict(student_recorders=dict(feat=_base_.regnet_recorder))
regnet_recorder = dict(type='ModuleOutputs', source='neck')
