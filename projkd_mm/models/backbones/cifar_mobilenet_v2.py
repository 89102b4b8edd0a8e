from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int,
                  stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                  kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class _InvertedResidual(nn.Module):
    """Expand (1x1) - depthwise 3x3 - project (1x1, linear), one ``conv``.

    The 1x1 expansion is built even for ``expand_ratio == 1``, as in the
    reference (torchvision skips it).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 expand_ratio: int) -> None:
        super().__init__()
        mid = in_channels * expand_ratio
        self.use_res_connect = stride == 1 and in_channels == out_channels
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, mid, 1, 1, 0, bias=False),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_channels, 1, 1, 0, bias=False),
            nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_res_connect else out


@MODELS.register_module()
class CifarMobileNetV2(BaseModule):
    """The CIFAR MobileNetV2 of the RepDistiller/CRD model zoo.

    "MobileNetV2: Inverted Residuals and Linear Bottlenecks", Sandler et al.,
    CVPR 2018, in the CIFAR variant of "Knowledge Distillation via Route
    Constrained Optimization" (Jin et al., ICCV 2019) used as the
    ``MobileNetV2`` student of "Contrastive Representation Distillation",
    Tian, Krishnan, Isola, ICLR 2020 (reference code
    https://github.com/HobbitLong/RepDistiller, ``models/mobilenetv2.py``,
    ``mobile_half`` = ``expand_ratio=6, width_mult=0.5``). Compared with the
    ImageNet model, the second stage keeps stride 1, so a 32x32 input ends
    at 2x2. Parameter names follow the reference (``conv1.0``,
    ``blocks.1.0.conv.3``, ``conv2.1``), so its checkpoints convert by
    prefix alone.

    Stages ``(t, c, n, s)``: (1, 16, 1, 1), (t, 24, 2, 1), (t, 32, 3, 2),
    (t, 64, 4, 2), (t, 96, 3, 1), (t, 160, 3, 2), (t, 320, 1, 1), with
    widths ``int(c * width_mult)`` after a stride-2 stem of
    ``int(32 * width_mult)`` channels, then a 1x1 conv-BN-ReLU to 1280
    channels (``int(1280 * width_mult)`` when ``width_mult > 1``).

    Args:
        width_mult (float): Channel multiplier of the stem and the stages.
            Defaults to 0.5 (the zoo's ``MobileNetV2``).
        expand_ratio (int): Expansion ``t`` of every stage but the first
            (the reference's ``T``). Defaults to 6.
        in_channels (int): Input image channels. Defaults to 3.
        init_cfg (dict, optional): MMEngine initialisation config. Defaults
            to the reference's: convolutions normal with std
            ``sqrt(2 / (k * k * C_out))`` (Kaiming, fan-out), BN weight 1,
            bias 0.

    Shapes:
        - Input: ``(N, in_channels, H, W)``, 32x32 for CIFAR.
        - Output: a 1-tuple with the post-ReLU map of ``conv2``
          ``(N, 1280, H / 16, W / 16)``. Its global average is the
          reference's penultimate feature (its ``AvgPool2d(2)`` covers the
          whole 2x2 map of a 32x32 input).
    """

    def __init__(self,
                 width_mult: float = 0.5,
                 expand_ratio: int = 6,
                 in_channels: int = 3,
                 init_cfg: Optional[dict] = dict(
                     type='Kaiming', layer='Conv2d', mode='fan_out',
                     nonlinearity='relu')) -> None:
        super().__init__(init_cfg)
        t = expand_ratio
        stages = [(1, 16, 1, 1), (t, 24, 2, 1), (t, 32, 3, 2), (t, 64, 4, 2),
                  (t, 96, 3, 1), (t, 160, 3, 2), (t, 320, 1, 1)]
        channels = int(32 * width_mult)
        self.conv1 = _conv_bn_relu(in_channels, channels, 3, 2)
        self.blocks = nn.ModuleList()
        for ratio, c, n, s in stages:
            out_channels = int(c * width_mult)
            layers = []
            for stride in [s] + [1] * (n - 1):
                layers.append(
                    _InvertedResidual(channels, out_channels, stride, ratio))
                channels = out_channels
            self.blocks.append(nn.Sequential(*layers))
        self.out_channels = (int(1280 * width_mult)
                             if width_mult > 1.0 else 1280)
        self.conv2 = _conv_bn_relu(channels, self.out_channels, 1, 1)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        x = self.conv1(x)
        for stage in self.blocks:
            x = stage(x)
        return (self.conv2(x), )
