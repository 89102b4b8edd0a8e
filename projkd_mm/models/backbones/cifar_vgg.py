from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class CifarVGG(BaseModule):
    """The batch-normalised VGGs of the RepDistiller/CRD CIFAR model zoo.

    "Very Deep Convolutional Networks for Large-Scale Image Recognition",
    Simonyan and Zisserman, ICLR 2015, as ported in "Contrastive
    Representation Distillation", Tian, Krishnan, Isola, ICLR 2020
    (reference code https://github.com/HobbitLong/RepDistiller,
    ``models/vgg.py``; the zoo's ``vgg8``/``vgg13`` are its ``vgg8_bn``/
    ``vgg13_bn``). Five blocks of 3x3 conv (with bias)-BN-ReLU layers, a
    2x2 max-pool after each of the first three blocks (and after the fourth
    only for 64x64 inputs, as in the reference), no fully connected layers
    but the classifier. Parameter names follow the reference (``block0.0``
    conv, ``block0.1`` BN, ``block0.3`` next conv, ...), so its checkpoints
    convert by prefix alone.

    The reference ends with ReLU, then ``AdaptiveAvgPool2d((1, 1))`` and the
    classifier: a true global average, so the backbone outputs the map after
    that ReLU and mmpretrain's ``GlobalAveragePooling`` neck reproduces the
    reference's 512-d penultimate feature exactly.

    Args:
        depth (int): 8, 11, 13, 16 or 19 (the reference's configurations
            'S', 'A', 'B', 'D', 'E').
        in_channels (int): Input image channels. Defaults to 3.
        init_cfg (dict, optional): MMEngine initialisation config. Defaults
            to the reference's: convolution weights normal with std
            ``sqrt(2 / (k * k * C_out))`` (Kaiming, fan-out), biases 0; BN
            weight 1, bias 0.

    Shapes:
        - Input: ``(N, in_channels, H, W)``, 32x32 for CIFAR.
        - Output: a 1-tuple with the last block's post-ReLU map
          ``(N, 512, H / 8, W / 8)`` (``H / 16`` for 64x64 inputs).
    """

    # Convolution widths of the five blocks, per depth.
    arch_settings = {
        8: [[64], [128], [256], [512], [512]],
        11: [[64], [128], [256, 256], [512, 512], [512, 512]],
        13: [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
        16: [[64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3],
        19: [[64, 64], [128, 128], [256] * 4, [512] * 4, [512] * 4],
    }

    def __init__(self,
                 depth: int,
                 in_channels: int = 3,
                 init_cfg: Optional[dict] = dict(
                     type='Kaiming', layer='Conv2d', mode='fan_out',
                     nonlinearity='relu')) -> None:
        super().__init__(init_cfg)
        if depth not in self.arch_settings:
            raise ValueError(f'CifarVGG: depth must be one of '
                             f'{sorted(self.arch_settings)}, got {depth!r}.')
        widths = self.arch_settings[depth]
        for i, block_widths in enumerate(widths):
            self.add_module(f'block{i}',
                            self._make_block(block_widths, in_channels))
            in_channels = block_widths[-1]
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.out_channels = in_channels

    @staticmethod
    def _make_block(widths: Sequence[int], in_channels: int) -> nn.Sequential:
        layers = []
        for width in widths:
            layers += [nn.Conv2d(in_channels, width, 3, padding=1),
                       nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            in_channels = width
        # The block's last ReLU is applied in forward() (the reference also
        # records the pre-activation there).
        return nn.Sequential(*layers[:-1])

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        pool_after_block3 = x.shape[2] == 64
        for i in range(5):
            x = F.relu(getattr(self, f'block{i}')(x))
            if i < 3 or (i == 3 and pool_after_block3):
                x = self.pool(x)
        return (x, )
