import math
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer
from mmrazor.models.architectures.connectors.base_connector import (
    BaseConnector,
)
from mmrazor.registry import MODELS
from torch import nn


def _check_positive(name: str, value, hint: str = '') -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'ProjectorEnsembleConnector: {name} must be a '
                         f'positive int{hint}, got {value!r}.')


@MODELS.register_module()
class ProjectorEnsembleConnector(BaseConnector):
    r"""An ensemble of linear projectors from student to teacher features.

    From "Improved Feature Distillation via Projector Ensemble", Chen, Wang,
    Liu, Xu, de Hoog, Huang, NeurIPS 2022 (https://arxiv.org/abs/2210.15274;
    reference code https://github.com/chenyd7/PEFD). Each of the ``q``
    members is ``act(W_i x + b_i)``; the output is their plain mean

    .. math::
        f(x) = \frac{1}{q} \sum_{i=1}^{q} \mathrm{act}(W_i x + b_i).

    The members differ only by their random initialisation, which follows
    ``nn.Linear``: weights and biases uniform in
    :math:`[-1/\sqrt{C_{in}}, 1/\sqrt{C_{in}}]`.

    All members run as ONE matrix product (a stacked ``(q * C_out, C_in)``
    weight), so the cost grows with ``q`` only through the output size and
    there is no Python loop over members.

    Args:
        in_channels (int, optional): Student feature channels ``C_in``.
            ``None`` (or leaving it out): inferred at build time by
            ``CheckedSingleTeacherDistill`` from one dry forward pass of
            the student through its recorders (its ``input_size``).
        out_channels (int, optional): Teacher feature channels ``C_out``;
            ``None``: inferred likewise from the teacher feature the same
            loss compares the projection with.
        num_projectors (int): Ensemble size ``q``. The paper uses 3.
        act_cfg (dict, optional): Activation applied to every member before
            the mean, an mmcv activation config. ``None`` gives linear
            members (then the ensemble is a single linear map at init
            scale 1/sqrt(q)). Defaults to ``dict(type='ReLU')``.
        init_cfg (dict, optional): MMEngine initialisation config. Defaults
            to None (the ``nn.Linear`` initialisation above).

    Shapes:
        - Input: ``(N, C_in)``, pooled ``(N, C_in, 1, 1)``, a feature map
          ``(N, C_in, H, W)`` (projected per location, as a 1x1
          convolution) or a token sequence ``(N, L, C_in)`` with channels
          last, as transformers return it (projected per token).
        - Output: the same layout with ``C_out`` channels.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 out_channels: Optional[int] = None,
                 num_projectors: int = 3,
                 act_cfg: Optional[Dict] = dict(type='ReLU'),
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg)
        _check_positive('num_projectors', num_projectors)
        for name, value in (('in_channels', in_channels),
                            ('out_channels', out_channels)):
            if value is not None:
                _check_positive(name, value,
                                ' (or None: inferred at build time)')
        self.num_projectors = num_projectors
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.register_parameter('weight', None)
        self.register_parameter('bias', None)
        self.act = (build_activation_layer(act_cfg)
                    if act_cfg is not None else nn.Identity())
        if in_channels is not None and out_channels is not None:
            self.set_widths(in_channels, out_channels)

    @property
    def widths_known(self) -> bool:
        """Whether the projectors exist (both widths set or inferred)."""
        return self.weight is not None

    def set_widths(self, in_channels: int, out_channels: int) -> None:
        """Create the projectors for these widths, freshly initialised.

        Called by the constructor when both widths are given, and by
        ``CheckedSingleTeacherDistill`` with the widths it inferred (before
        the optimizer is built).
        """
        _check_positive('in_channels', in_channels)
        _check_positive('out_channels', out_channels)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.weight = nn.Parameter(
            torch.empty(self.num_projectors, out_channels, in_channels))
        self.bias = nn.Parameter(
            torch.empty(self.num_projectors, out_channels))
        self.reset_parameters()

    @staticmethod
    def feature_width(x: torch.Tensor) -> int:
        """The channel count of a feature in any layout this connector
        takes: ``(N, C)``, ``(N, C, H, W)`` or tokens ``(N, L, C)``."""
        if not isinstance(x, torch.Tensor) or x.dim() not in (2, 3, 4):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else \
                type(x).__name__
            raise ValueError(
                f'ProjectorEnsembleConnector takes (N, C), (N, C, H, W) or '
                f'token (N, L, C) features, got {shape}. Record another '
                'module (a recorder\'s source) or pick the tensor with its '
                'data_idx.')
        return x.shape[2] if x.dim() == 3 else x.shape[1]

    def reset_parameters(self) -> None:
        """``nn.Linear``'s default init, drawn independently per member."""
        # kaiming_uniform_(a=sqrt(5)) on a (C_out, C_in) weight and nn.Linear's
        # bias rule both reduce to U(-1/sqrt(C_in), 1/sqrt(C_in)).
        bound = 1.0 / math.sqrt(self.in_channels)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def _check_input(self, x: torch.Tensor) -> None:
        if not self.widths_known:
            raise RuntimeError(
                'ProjectorEnsembleConnector: in_channels/out_channels were '
                'left to be inferred, but nothing inferred them. '
                'CheckedSingleTeacherDistill infers them at build time '
                '(set model.input_size=(C, H, W) there); with any other '
                'algorithm set both widths in the config.')
        channels = {2: 1, 3: 2, 4: 1}.get(x.dim())
        if channels is None or x.shape[channels] != self.in_channels:
            found = x.shape[channels] if channels is not None else '?'
            raise ValueError(
                'ProjectorEnsembleConnector expects student features of shape '
                f'(N, {self.in_channels}) or (N, {self.in_channels}, H, W) '
                f'but got {tuple(x.shape)} (token sequences: (N, L, '
                f'{self.in_channels}), channels last). Set the connector\'s '
                'in_channels in the config (model.distiller.connectors.'
                f'<name>.in_channels) to {found}, the channel count of the '
                'student recorder it is attached to.')

    def members(self, x: torch.Tensor) -> torch.Tensor:
        """The activated output of every member.

        Args:
            x (Tensor): ``(N, C_in)``, ``(N, C_in, H, W)`` or tokens
                ``(N, L, C_in)``.

        Returns:
            Tensor: ``(N, q, C_out)``, ``(N, q, C_out, H, W)`` or
            ``(N, q, L, C_out)``; its mean over dim 1 is
            :meth:`forward_train`.
        """
        self._check_input(x)
        q, c_out = self.num_projectors, self.out_channels
        weight = self.weight.reshape(q * c_out, self.in_channels)
        bias = self.bias.reshape(q * c_out)
        if x.dim() == 2:
            y = F.linear(x, weight, bias).view(x.shape[0], q, c_out)
        elif x.dim() == 3:  # tokens (N, L, C_in): every token alike
            y = F.linear(x, weight, bias).view(*x.shape[:2], q, c_out)
            y = y.transpose(1, 2)
        elif x.shape[2:] == (1, 1):
            y = F.linear(x.flatten(1), weight, bias)
            y = y.view(x.shape[0], q, c_out, 1, 1)
        else:
            y = F.conv2d(x, weight[:, :, None, None], bias)
            y = y.view(x.shape[0], q, c_out, *x.shape[2:])
        return self.act(y)

    def forward_train(self, feature: torch.Tensor) -> torch.Tensor:
        """Mean of the activated members (see :meth:`members`).

        Args:
            feature (Tensor): ``(N, C_in)``, ``(N, C_in, 1, 1)``,
                ``(N, C_in, H, W)`` or tokens ``(N, L, C_in)``.

        Returns:
            Tensor: ``(N, C_out)``, ``(N, C_out, 1, 1)``,
            ``(N, C_out, H, W)`` or ``(N, L, C_out)``.
        """
        return self.members(feature).mean(dim=1)

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, '
                f'out_channels={self.out_channels}, '
                f'num_projectors={self.num_projectors}')
