# Ablation: direct normalised feature matching, no projector (both
# networks end in 64 channels).
_base_ = './pefd_resnet14_resnet8_10e_fmnist.py'

model = dict(
    distiller=dict(
        connectors=dict(_delete_=True),
        loss_forward_mappings=dict(_delete_=True, **_base_.noproj_mappings)))
