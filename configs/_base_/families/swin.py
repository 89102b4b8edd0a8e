# SwinTransformer (mmpretrain `SwinTransformer`): the backbone returns the
# normed last-stage map (N, C, 7, 7) at 224x224 and the GlobalAveragePooling
# neck pools it: the penultimate feature is the neck's output, (N, C),
# data_idx 0 (the neck returns a 1-tuple). C: 768 for Swin-T/S, 1024 for -B.
# Use in a PEFD config (the table: projkd_mm/families.py,
# docs/custom_pair.md):
#   distiller=dict(teacher_recorders=dict(feat=_base_.swin_recorder))
swin_recorder = dict(type='ModuleOutputs', source='neck')
