from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.models.utils import channel_shuffle
from mmpretrain.registry import MODELS
from torch import nn


class _ShuffleUnit(nn.Module):
    """Grouped 1x1 - shuffle - depthwise 3x3 - grouped 1x1, then ReLU.

    Stride 2 concatenates a 3x3 average-pooled shortcut (so ``out_planes``
    counts only the new channels); stride 1 adds the identity. The first 1x1
    is ungrouped when the input is the 24-channel stem, as in the reference.
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int,
                 groups: int) -> None:
        super().__init__()
        mid_planes = out_planes // 4
        self.stride = stride
        self.first_groups = 1 if in_planes == 24 else groups
        self.conv1 = nn.Conv2d(in_planes, mid_planes, 1,
                               groups=self.first_groups, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_planes)
        self.conv2 = nn.Conv2d(mid_planes, mid_planes, 3, stride, 1,
                               groups=mid_planes, bias=False)
        self.bn2 = nn.BatchNorm2d(mid_planes)
        self.conv3 = nn.Conv2d(mid_planes, out_planes, 1, groups=groups,
                               bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = channel_shuffle(out, self.first_groups)
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.stride == 2:
            return F.relu(
                torch.cat([out, F.avg_pool2d(x, 3, 2, 1)], dim=1))
        return F.relu(out + x)


@MODELS.register_module()
class CifarShuffleNetV1(BaseModule):
    """The CIFAR ShuffleNetV1 of the RepDistiller/CRD model zoo.

    "ShuffleNet: An Extremely Efficient Convolutional Neural Network for
    Mobile Devices", Zhang et al., CVPR 2018, in the CIFAR variant used as
    the ``ShuffleV1`` student of "Contrastive Representation Distillation",
    Tian, Krishnan, Isola, ICLR 2020 (reference code
    https://github.com/HobbitLong/RepDistiller, ``models/ShuffleNetv1.py``):
    a 1x1 stem to 24 channels (no stride, no max-pool), then three stages
    whose first unit has stride 2. Parameter names follow the reference
    (``conv1``, ``bn1``, ``layer1.0.conv1``, ...), so its checkpoints convert
    by prefix alone.

    With a 100-class head the whole classifier has 949,258 parameters; the
    reference's constructor defaults to ``num_classes=10`` (862,768), but
    its CIFAR-100 scripts pass 100.

    Args:
        out_planes (Sequence[int]): Output width of each stage. Defaults to
            (240, 480, 960), the zoo's ``ShuffleV1`` (g = 3).
        num_blocks (Sequence[int]): Units per stage. Defaults to (4, 8, 4).
        groups (int): Groups ``g`` of the 1x1 convolutions. Defaults to 3.
        in_channels (int): Input image channels. Defaults to 3.
        init_cfg (dict, optional): MMEngine initialisation config. Defaults
            to None: PyTorch's default initialisation, as in the reference.

    Shapes:
        - Input: ``(N, in_channels, H, W)``, 32x32 for CIFAR.
        - Output: a 1-tuple with the last stage's post-ReLU map
          ``(N, out_planes[-1], H / 8, W / 8)``. Its global average is the
          reference's penultimate feature (``F.avg_pool2d(out, 4)`` on the
          4x4 map of a 32x32 input).
    """

    def __init__(self,
                 out_planes: Sequence[int] = (240, 480, 960),
                 num_blocks: Sequence[int] = (4, 8, 4),
                 groups: int = 3,
                 in_channels: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if len(out_planes) != 3 or len(num_blocks) != 3:
            raise ValueError('CifarShuffleNetV1: out_planes and num_blocks '
                             'need one value per stage (3), got '
                             f'{tuple(out_planes)} and {tuple(num_blocks)}.')
        self.conv1 = nn.Conv2d(in_channels, 24, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(24)
        in_planes = 24
        for i, (planes, n) in enumerate(zip(out_planes, num_blocks)):
            # The first unit's shortcut is concatenated: it adds in_planes.
            units = [_ShuffleUnit(in_planes, planes - in_planes, 2, groups)]
            units += [
                _ShuffleUnit(planes, planes, 1, groups) for _ in range(n - 1)
            ]
            self.add_module(f'layer{i + 1}', nn.Sequential(*units))
            in_planes = planes
        self.out_channels = in_planes

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return (x, )
