from typing import Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn


class _BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


@MODELS.register_module()
class CifarResNet(BaseModule):
    """The CIFAR ResNets of the RepDistiller/CRD model zoo.

    From "Contrastive Representation Distillation", Tian, Krishnan, Isola,
    ICLR 2020 (reference code https://github.com/HobbitLong/RepDistiller,
    ``models/resnet.py``), after He et al.'s CIFAR ResNets: a 3x3 stem and
    three stages of ``n`` blocks, strides 1/2/2, with
    ``n = (depth - 2) / 6`` basic blocks or ``(depth - 2) / 9`` bottlenecks.
    Parameter names follow the reference (``conv1``, ``bn1``,
    ``layer1.0.conv1``, ...), so its checkpoints convert by prefix alone.

    The zoo names map to ``(depth, num_filters)``: resnet20/32/56/110 =
    (depth, (16, 16, 32, 64)); resnet8x4 / resnet32x4 =
    (8 / 32, (32, 64, 128, 256)).

    Args:
        depth (int): Total depth, 6n+2 for basic blocks, 9n+2 for
            bottlenecks.
        num_filters (Sequence[int]): Stem width and the three stage widths.
        block (str): ``'basic'`` or ``'bottleneck'``. Defaults to 'basic'.
        in_channels (int): Input image channels (1 for grey images).
            Defaults to 3.
        stem_stride (int): Stride of the 3x3 stem convolution. 1 (the
            reference) keeps the input resolution in the first stage; 2
            halves it, a quarter of the cost of every later layer, for
            small images such as Fashion-MNIST's 28x28 where the first
            stage then works at 14x14. Defaults to 1.
        init_cfg (dict, optional): MMEngine initialisation config.

    Shapes:
        - Input: ``(N, in_channels, H, W)``; 32x32 for CIFAR, 28x28 works.
        - Output: a 1-tuple with the last stage's map
          ``(N, num_filters[3] * expansion, H / 4s, W / 4s)`` for
          ``s = stem_stride``, to be pooled by
          ``GlobalAveragePooling`` (the reference's ``AvgPool2d(8)`` on
          32x32 inputs).
    """

    def __init__(self,
                 depth: int,
                 num_filters: Sequence[int] = (16, 16, 32, 64),
                 block: str = 'basic',
                 in_channels: int = 3,
                 stem_stride: int = 1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if stem_stride not in (1, 2):
            raise ValueError(f'CifarResNet: stem_stride must be 1 (the '
                             f'reference) or 2, got {stem_stride!r}.')
        blocks = {'basic': (_BasicBlock, 6), 'bottleneck': (_Bottleneck, 9)}
        if block not in blocks:
            raise ValueError(f'CifarResNet: block must be one of '
                             f'{sorted(blocks)}, got {block!r}.')
        block_cls, per_block = blocks[block]
        if depth < per_block + 2 or (depth - 2) % per_block:
            raise ValueError(
                f'CifarResNet: depth={depth} is not {per_block}n+2 for '
                f'{block} blocks (e.g. {per_block + 2}, {2 * per_block + 2}).')
        if len(num_filters) != 4:
            raise ValueError('CifarResNet: num_filters needs 4 widths (stem '
                             f'and 3 stages), got {tuple(num_filters)}.')
        n = (depth - 2) // per_block
        self.conv1 = nn.Conv2d(in_channels, num_filters[0], 3, stem_stride,
                               1, bias=False)
        self.bn1 = nn.BatchNorm2d(num_filters[0])
        self.relu = nn.ReLU(inplace=True)
        self.inplanes = num_filters[0]
        self.layer1 = self._make_layer(block_cls, num_filters[1], n, 1)
        self.layer2 = self._make_layer(block_cls, num_filters[2], n, 2)
        self.layer3 = self._make_layer(block_cls, num_filters[3], n, 2)
        self.out_channels = num_filters[3] * block_cls.expansion
        if init_cfg is None:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(
                        m.weight, mode='fan_out', nonlinearity='relu')

    def _make_layer(self, block_cls, planes: int, blocks: int,
                    stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block_cls.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block_cls.expansion, 1,
                          stride, bias=False),
                nn.BatchNorm2d(planes * block_cls.expansion))
        layers = [block_cls(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block_cls.expansion
        layers += [block_cls(self.inplanes, planes) for _ in range(blocks - 1)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return (x, )
