# Projector-ensemble feature distillation on CIFAR-100 (recipe, distiller
# and loss: ../../_base_/recipes/pefd_240e_cifar100.py),
# vgg13 teacher (512-d feature) -> vgg8 student (512-d).
# RepDistiller top-1 (teacher / student / KD / FitNet / CRD):
# 74.64 / 70.36 / 72.98 / 71.02 / 73.94.
_base_ = ['../../_base_/recipes/pefd_240e_cifar100.py']

model = dict(
    architecture=dict(
        backbone=dict(type='CifarVGG', depth=8),
        head=dict(in_channels=512,
                  # as the reference initialises this classifier
                  init_cfg=dict(_delete_=True, type='Normal', layer='Linear',
                                std=0.01))),
    teacher=dict(
        backbone=dict(type='CifarVGG', depth=13),
        head=dict(in_channels=512)),
    # python tools/model_converters/repdistiller_to_mmpretrain.py \
    #   save/models/vgg13_vanilla/ckpt_epoch_240.pth \
    #   checkpoints/cifar100/vgg13_mmpretrain.pth --arch vgg13
    teacher_ckpt='checkpoints/cifar100/vgg13_mmpretrain.pth',
    distiller=dict(
        connectors=dict(projector=dict(in_channels=512, out_channels=512))))
