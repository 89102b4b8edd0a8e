from projkd_mm.models.backbones.cifar_mobilenet_v2 import CifarMobileNetV2
from projkd_mm.models.backbones.cifar_resnet import CifarResNet
from projkd_mm.models.backbones.cifar_shufflenet_v1 import CifarShuffleNetV1
from projkd_mm.models.backbones.cifar_shufflenet_v2 import CifarShuffleNetV2
from projkd_mm.models.backbones.cifar_vgg import CifarVGG
from projkd_mm.models.backbones.cifar_wide_resnet import CifarWideResNet
from projkd_mm.models.backbones.mobilenet_v1 import MobileNetV1

__all__ = [
    'CifarMobileNetV2', 'CifarResNet', 'CifarShuffleNetV1',
    'CifarShuffleNetV2', 'CifarVGG', 'CifarWideResNet', 'MobileNetV1'
]
