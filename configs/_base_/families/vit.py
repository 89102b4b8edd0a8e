# VisionTransformer (mmpretrain `VisionTransformer`: ViT, and DeiT with
# arch='deit-*'): no neck. With out_type='cls_token' (the default) the
# backbone returns the class token after the final norm, (N, C), which
# VisionTransformerClsHead takes as is: source 'backbone', data_idx 0 (a
# 1-tuple with the default out_indices=-1). C: 192 for DeiT-T, 384 for
# DeiT-S, 768 for ViT-B / DeiT-B. Not for the distilled DeiT
# (DistilledVisionTransformer), which returns (cls, dist) token pairs.
# Use in a PEFD config (the table: projkd_mm/families.py,
# docs/custom_pair.md):
#   distiller=dict(student_recorders=dict(feat=_base_.vit_recorder))
vit_recorder = dict(type='ModuleOutputs', source='backbone')
