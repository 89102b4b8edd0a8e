# ConvNeXt (mmpretrain `ConvNeXt`): no neck. The backbone pools before its
# final norm (gap_before_final_norm=True, the default) and returns the
# normed (N, C) vector the head consumes: source 'backbone', data_idx 0
# (a 1-tuple with the default out_indices=-1). C: 768 for ConvNeXt-T/S,
# 1024 for -B.
# Use in a PEFD config (the table: projkd_mm/families.py,
# docs/custom_pair.md):
#   distiller=dict(teacher_recorders=dict(feat=_base_.convnext_recorder))
convnext_recorder = dict(type='ModuleOutputs', source='backbone')
