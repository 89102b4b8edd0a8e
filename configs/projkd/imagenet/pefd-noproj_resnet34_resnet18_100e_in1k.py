# Ablation: direct normalised feature matching, no projector. ResNet18 and
# ResNet34 both have 512-d penultimate features, so no connector is needed.
_base_ = './pefd_resnet34_resnet18_100e_in1k.py'

model = dict(
    distiller=dict(
        connectors=dict(_delete_=True),
        loss_forward_mappings=dict(_delete_=True, **_base_.noproj_mappings)))
