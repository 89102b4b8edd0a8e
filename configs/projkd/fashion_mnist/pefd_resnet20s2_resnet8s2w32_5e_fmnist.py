# The pair whose widths differ: the same teacher (64 channels) and a
# narrower ResNet-8 student ending in 32 channels; projectors 32 -> 64.
_base_ = './pefd_resnet20s2_resnet8s2_5e_fmnist.py'

model = dict(
    architecture=dict(_delete_=True, _scope_='mmpretrain',
                      **_base_.narrow_student_model),
    distiller=dict(connectors=dict(projector=dict(in_channels=32))))
