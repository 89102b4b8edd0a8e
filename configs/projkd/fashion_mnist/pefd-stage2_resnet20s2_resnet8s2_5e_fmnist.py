# The ensemble of 3 on the penultimate features plus the last-but-one stage
# (backbone.layer2: teacher (N, 64, 7, 7), student (N, 16, 7, 7)), each with
# its own ensemble of 3 and loss term (stage2_distiller of
# ../../_base_/models/pefd_distill.py; the stage projector's widths 16 -> 64
# are inferred by the dry run on model.input_size).
_base_ = './pefd_resnet20s2_resnet8s2_5e_fmnist.py'

model = dict(distiller=_base_.stage2_distiller)
