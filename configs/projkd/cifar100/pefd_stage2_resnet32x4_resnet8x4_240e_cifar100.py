# resnet32x4 -> resnet8x4 with the penultimate features (the paper's term)
# plus the last-but-one stage (backbone.layer2, both (N, 128, 16, 16)),
# each with its own ensemble of 3 projectors and loss term (stage_* of
# ../../_base_/models/pefd_distill.py; the stage projector's widths are
# inferred by the dry run on model.input_size).
_base_ = './pefd_resnet32x4_resnet8x4_240e_cifar100.py'

model = dict(
    distiller=dict(
        student_recorders=dict(
            stage=dict(type='ModuleOutputs', source='backbone.layer2')),
        teacher_recorders=dict(
            stage=dict(type='ModuleOutputs', source='backbone.layer2')),
        connectors=dict(stage_projector=_base_.stage_projector),
        distill_losses=dict(loss_stage=_base_.stage_loss),
        loss_forward_mappings=dict(loss_stage=_base_.stage_mappings)))
