from projkd_mm.models.backbones.cifar_resnet import CifarResNet

__all__ = ['CifarResNet']
