from typing import List, Optional, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int,
                  stride: int, groups: int = 1) -> List[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                  kernel_size // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True)
    ]


def _depthwise_separable(in_channels: int, out_channels: int,
                         stride: int) -> nn.Sequential:
    return nn.Sequential(
        *_conv_bn_relu(in_channels, in_channels, 3, stride, in_channels),
        *_conv_bn_relu(in_channels, out_channels, 1, 1))


@MODELS.register_module()
class MobileNetV1(BaseModule):
    """MobileNet (V1), the ImageNet student of projector-ensemble KD.

    "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
    Applications", Howard et al., 2017 (arXiv 1704.04861), as used for the
    ResNet50 -> MobileNet ImageNet experiments of "Improved Feature
    Distillation via Projector Ensemble", Chen et al., NeurIPS 2022
    (reference code https://github.com/chenyd7/PEFD, ``models/MobileNet.py``).
    A stride-2 3x3 conv-BN-ReLU to 32 channels, then 13 depthwise-separable
    layers (depthwise 3x3-BN-ReLU, pointwise 1x1-BN-ReLU) with widths 64,
    128, 128, 256, 256, 512 x 6, 1024, 1024 and stride 2 at the 2nd, 4th,
    6th and 12th.
    With a 1000-class head it has 4,231,976 parameters. Parameter names
    follow the reference (``model1.0.0`` stem conv, ``model1.1.3`` first
    pointwise conv, ..., ``model2.1.4``), so its checkpoints convert by
    prefix alone.

    Args:
        in_channels (int): Input image channels. Defaults to 3.
        init_cfg (dict, optional): MMEngine initialisation config. Defaults
            to None: PyTorch's default initialisation, as in the reference.

    Shapes:
        - Input: ``(N, in_channels, H, W)``, 224x224 for ImageNet.
        - Output: a 1-tuple with the last post-ReLU map
          ``(N, 1024, H / 32, W / 32)``. Its global average is the
          reference's 1024-d penultimate feature (``AvgPool2d(7)`` on the
          7x7 map of a 224x224 input).
    """

    def __init__(self,
                 in_channels: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        # (out_channels, stride) of the depthwise-separable layers; the
        # reference splits them into model1 (up to 512) and model2 (1024).
        model1 = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)]
        model1 += [(512, 1)] * 5
        model2 = [(1024, 2), (1024, 1)]
        layers = [nn.Sequential(*_conv_bn_relu(in_channels, 32, 3, 2))]
        channels = 32
        for width, stride in model1:
            layers.append(_depthwise_separable(channels, width, stride))
            channels = width
        self.model1 = nn.Sequential(*layers)
        layers = []
        for width, stride in model2:
            layers.append(_depthwise_separable(channels, width, stride))
            channels = width
        self.model2 = nn.Sequential(*layers)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        return (self.model2(self.model1(x)), )
