# Projector-ensemble feature distillation (Chen et al., NeurIPS 2022),
# ImageNet-1k, ResNet34 teacher -> ResNet18 student, on the paper's recipe
# (../../_base_/recipes/pefd_100e_in1k.py).
_base_ = ['../../_base_/recipes/pefd_100e_in1k.py']

# mmpretrain model zoo ResNet34 (73.62% top-1). Offline: download it and pass
# --cfg-options model.teacher_ckpt=/path/resnet34_8xb32_in1k.pth

model = dict(
    architecture=dict(
        # torchvision's ResNet, as the reference's student: no
        # zero-initialised last BN of each residual block (mmpretrain's
        # ResNet default).
        backbone=dict(type='ResNet', depth=18, num_stages=4,
                      out_indices=(3, ), style='pytorch',
                      zero_init_residual=False),
        head=dict(in_channels=512)),
    teacher=dict(
        backbone=dict(type='ResNet', depth=34, num_stages=4,
                      out_indices=(3, ), style='pytorch'),
        head=dict(in_channels=512)),
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/resnet/resnet34_8xb32_in1k_20210831-f257d4e6.pth',
    # Ensemble of 3 projectors 512 -> 512 on the penultimate features.
    distiller=dict(
        connectors=dict(projector=dict(in_channels=512, out_channels=512))))
