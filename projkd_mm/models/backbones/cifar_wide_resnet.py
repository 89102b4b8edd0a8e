from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn


class _WideBasicBlock(nn.Module):
    """Pre-activation basic block: BN-ReLU-conv3x3-BN-ReLU-conv3x3.

    When the width or stride changes, the shortcut is a 1x1 convolution
    (``convShortcut``) applied to the *activated* input, as in the reference.
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride, 1,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
        # The reference shortcut exists only when the width changes (its
        # stride-2 blocks all change width too).
        self.convShortcut = (None if in_planes == out_planes else nn.Conv2d(
            in_planes, out_planes, 1, stride, 0, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(x))
        shortcut = x if self.convShortcut is None else self.convShortcut(out)
        out = self.conv1(out)
        out = self.conv2(self.relu2(self.bn2(out)))
        return shortcut + out


class _NetworkBlock(nn.Module):
    """A stage; only exists so parameter names read ``block1.layer.0...``."""

    def __init__(self, num_blocks: int, in_planes: int, out_planes: int,
                 stride: int) -> None:
        super().__init__()
        self.layer = nn.Sequential(*[
            _WideBasicBlock(in_planes if i == 0 else out_planes, out_planes,
                            stride if i == 0 else 1)
            for i in range(num_blocks)
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


@MODELS.register_module()
class CifarWideResNet(BaseModule):
    """The wide residual networks of the RepDistiller/CRD CIFAR model zoo.

    "Wide Residual Networks", Zagoruyko and Komodakis, BMVC 2016, as ported
    in "Contrastive Representation Distillation", Tian, Krishnan, Isola,
    ICLR 2020 (reference code https://github.com/HobbitLong/RepDistiller,
    ``models/wrn.py``): a 3x3 stem with 16 channels, three stages of
    ``n = (depth - 4) / 6`` pre-activation basic blocks with widths
    ``(16, 32, 64) * widen_factor`` and strides 1/2/2, then a final
    BN-ReLU. Parameter names follow the reference (``conv1``,
    ``block1.layer.0.bn1``, ``block1.layer.0.convShortcut``, ``bn1``), so
    its checkpoints convert by prefix alone. The reference's dropout
    (``dropRate``) is 0 in every zoo model and is left out.

    The zoo names map to ``(depth, widen_factor)``: wrn_40_2 = (40, 2),
    wrn_40_1 = (40, 1), wrn_16_2 = (16, 2), wrn_16_1 = (16, 1).

    Args:
        depth (int): Total depth, 6n+4 (16, 22, 28, 40, ...).
        widen_factor (int): Width multiplier ``k`` of the three stages.
            Defaults to 1.
        in_channels (int): Input image channels. Defaults to 3.
        init_cfg (dict, optional): MMEngine initialisation config. Defaults
            to the reference's: convolutions normal with std
            ``sqrt(2 / (k * k * C_out))`` (Kaiming, fan-out), BN weight 1,
            bias 0 (PyTorch's default).

    Shapes:
        - Input: ``(N, in_channels, H, W)``, 32x32 for CIFAR.
        - Output: a 1-tuple with the map after the final BN-ReLU,
          ``(N, 64 * widen_factor, H / 4, W / 4)``. Its global average is
          the reference's penultimate feature (``F.avg_pool2d(out, 8)`` on
          the 8x8 map of a 32x32 input).
    """

    def __init__(self,
                 depth: int,
                 widen_factor: int = 1,
                 in_channels: int = 3,
                 init_cfg: Optional[dict] = dict(
                     type='Kaiming', layer='Conv2d', mode='fan_out',
                     nonlinearity='relu')) -> None:
        super().__init__(init_cfg)
        if depth < 10 or (depth - 4) % 6:
            raise ValueError(f'CifarWideResNet: depth={depth} is not 6n+4 '
                             '(e.g. 16, 28, 40).')
        n = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.block1 = _NetworkBlock(n, widths[0], widths[1], 1)
        self.block2 = _NetworkBlock(n, widths[1], widths[2], 2)
        self.block3 = _NetworkBlock(n, widths[2], widths[3], 2)
        self.bn1 = nn.BatchNorm2d(widths[3])
        self.relu = nn.ReLU(inplace=True)
        self.out_channels = widths[3]

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        x = self.block3(self.block2(self.block1(self.conv1(x))))
        return (self.relu(self.bn1(x)), )
