# resnet32x4 -> resnet8x4 with the penultimate features (the paper's term)
# plus the last-but-one stage (backbone.layer2, both (N, 128, 16, 16)),
# each with its own ensemble of 3 projectors and loss term (stage2_distiller of
# ../../_base_/models/pefd_distill.py; the stage projector's widths are
# inferred by the dry run on model.input_size).
_base_ = './pefd_resnet32x4_resnet8x4_240e_cifar100.py'

model = dict(distiller=_base_.stage2_distiller)
