from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.models.utils import channel_shuffle
from mmpretrain.registry import MODELS
from torch import nn


class _BasicUnit(nn.Module):
    """Split in halves; 1x1-ReLU, depthwise 3x3, 1x1-ReLU on one; shuffle."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        half = channels // 2
        self.conv1 = nn.Conv2d(half, half, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(half)
        self.conv2 = nn.Conv2d(half, half, 3, 1, 1, groups=half, bias=False)
        self.bn2 = nn.BatchNorm2d(half)
        self.conv3 = nn.Conv2d(half, half, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=1)
        out = F.relu(self.bn1(self.conv1(x2)))
        out = self.bn2(self.conv2(out))
        out = F.relu(self.bn3(self.conv3(out)))
        return channel_shuffle(torch.cat([x1, out], dim=1), 2)


class _DownUnit(nn.Module):
    """Stride-2 unit: two branches on the whole input, concatenated."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        mid = out_channels // 2
        # Left: depthwise 3x3 (stride 2), 1x1-ReLU.
        self.conv1 = nn.Conv2d(in_channels, in_channels, 3, 2, 1,
                               groups=in_channels, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv2 = nn.Conv2d(in_channels, mid, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        # Right: 1x1-ReLU, depthwise 3x3 (stride 2), 1x1-ReLU.
        self.conv3 = nn.Conv2d(in_channels, mid, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(mid)
        self.conv4 = nn.Conv2d(mid, mid, 3, 2, 1, groups=mid, bias=False)
        self.bn4 = nn.BatchNorm2d(mid)
        self.conv5 = nn.Conv2d(mid, mid, 1, bias=False)
        self.bn5 = nn.BatchNorm2d(mid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left = F.relu(self.bn2(self.conv2(self.bn1(self.conv1(x)))))
        right = F.relu(self.bn3(self.conv3(x)))
        right = F.relu(self.bn5(self.conv5(self.bn4(self.conv4(right)))))
        return channel_shuffle(torch.cat([left, right], dim=1), 2)


@MODELS.register_module()
class CifarShuffleNetV2(BaseModule):
    """The CIFAR ShuffleNetV2 of the RepDistiller/CRD model zoo.

    "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture
    Design", Ma et al., ECCV 2018, in the CIFAR variant used as the
    ``ShuffleV2`` student of "Contrastive Representation Distillation",
    Tian, Krishnan, Isola, ICLR 2020 (reference code
    https://github.com/HobbitLong/RepDistiller, ``models/ShuffleNetv2.py``,
    ``net_size=1``): a 1x1 stem to 24 channels (no stride, no max-pool),
    three stages of one stride-2 unit and ``num_blocks`` basic units, and a
    1x1 conv-BN-ReLU. Parameter names follow the reference (``conv1``,
    ``layer1.0.conv4`` in the stride-2 unit, ``layer1.1.conv3``, ``conv2``,
    ``bn2``), so its checkpoints convert by prefix alone.

    Args:
        out_channels (Sequence[int]): Widths of the three stages and of the
            last 1x1 convolution. Defaults to (116, 232, 464, 1024), the
            zoo's ``ShuffleV2`` (``net_size=1``).
        num_blocks (Sequence[int]): Basic units per stage, after the
            stride-2 unit. Defaults to (3, 7, 3).
        in_channels (int): Input image channels. Defaults to 3.
        init_cfg (dict, optional): MMEngine initialisation config. Defaults
            to None: PyTorch's default initialisation, as in the reference.

    Shapes:
        - Input: ``(N, in_channels, H, W)``, 32x32 for CIFAR.
        - Output: a 1-tuple with the post-ReLU map of ``conv2``
          ``(N, out_channels[3], H / 8, W / 8)``. Its global average is the
          reference's penultimate feature (``F.avg_pool2d(out, 4)`` on the
          4x4 map of a 32x32 input).
    """

    def __init__(self,
                 out_channels: Sequence[int] = (116, 232, 464, 1024),
                 num_blocks: Sequence[int] = (3, 7, 3),
                 in_channels: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if len(out_channels) != 4 or len(num_blocks) != 3:
            raise ValueError(
                'CifarShuffleNetV2: out_channels needs 4 widths (3 stages and '
                'the last 1x1 conv) and num_blocks 3 counts, got '
                f'{tuple(out_channels)} and {tuple(num_blocks)}.')
        self.conv1 = nn.Conv2d(in_channels, 24, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(24)
        channels = 24
        for i, (width, n) in enumerate(zip(out_channels[:3], num_blocks)):
            units = [_DownUnit(channels, width)]
            units += [_BasicUnit(width) for _ in range(n)]
            self.add_module(f'layer{i + 1}', nn.Sequential(*units))
            channels = width
        self.conv2 = nn.Conv2d(channels, out_channels[3], 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels[3])
        self.out_channels = out_channels[3]

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return (F.relu(self.bn2(self.conv2(x))), )
