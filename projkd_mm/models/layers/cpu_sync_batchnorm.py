"""Synchronised BatchNorm that also runs in CPU processes (gloo)."""
from typing import Any, Optional

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.nn.functional import all_reduce
from torch.nn.modules.batchnorm import _BatchNorm


class CPUSyncBatchNorm(_BatchNorm):
    r"""BatchNorm whose training statistics are those of the whole batch,
    over all processes, on any device: torch's ``nn.SyncBatchNorm`` runs on
    GPUs only ("SyncBatchNorm expected input tensor to be on GPU").

    In training, with a process group of more than one process, every
    process normalises its ``B`` samples with the mean and variance of the
    ``world_size * B`` samples of all processes:

    .. math::
        \mu_c = \frac{1}{M} \sum_{r, i} x_{r,i,c}, \quad
        \sigma_c^2 = \frac{1}{M} \sum_{r, i} (x_{r,i,c} - \mu_c)^2, \quad
        y = \gamma_c \frac{x - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}} + \beta_c

    where ``M`` counts the elements of channel ``c`` over all processes.
    The sums go through ``torch.distributed.nn.functional.all_reduce``,
    which is differentiable, so the gradient is that of one process seeing
    the whole batch; two passes (mean, then centred squares) keep the
    variance as exact as in one process. The running statistics are
    updated with the unbiased variance, as ``nn.BatchNorm`` does. In
    evaluation, without an initialised process group, or in a group of one
    process it is plain BatchNorm.

    Not a subclass of ``nn.SyncBatchNorm`` on purpose: DDP refuses CPU
    modules holding one. Use :func:`convert_cpu_sync_batchnorm` to convert
    a model, as ``nn.SyncBatchNorm.convert_sync_batchnorm`` does.

    Args:
        num_features (int): Channels ``C``.
        eps (float): Added to the variance. Defaults to 1e-5.
        momentum (float, optional): Weight of the batch statistics in the
            running ones; ``None`` for a cumulative average. Defaults to 0.1.
        affine (bool): Learn ``gamma`` and ``beta``. Defaults to True.
        track_running_stats (bool): Keep running statistics for evaluation.
            Defaults to True.
        process_group (ProcessGroup, optional): The processes whose batches
            are pooled. Defaults to None: all of them.

    Shapes:
        - Input: ``(N, C, *)``, at least 2-D.
        - Output: the input's shape.
    """

    def __init__(self,
                 num_features: int,
                 eps: float = 1e-5,
                 momentum: Optional[float] = 0.1,
                 affine: bool = True,
                 track_running_stats: bool = True,
                 process_group: Optional[Any] = None) -> None:
        super().__init__(num_features, eps, momentum, affine,
                         track_running_stats)
        self.process_group = process_group

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError('CPUSyncBatchNorm expects an (N, C, *) input of '
                             f'at least 2 dimensions, got {input.dim()}D.')

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Normalise ``input`` with the statistics of all processes' batches
        in training, else as BatchNorm."""
        if not (self.training and dist.is_available()
                and dist.is_initialized()):
            return super().forward(input)
        group = self.process_group or dist.group.WORLD
        if dist.get_world_size(group) == 1:
            return super().forward(input)
        self._check_input_dim(input)
        momentum = self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked)
        dims = [0] + list(range(2, input.dim()))
        shape = [1, -1] + [1] * (input.dim() - 2)
        count = all_reduce(
            input.new_tensor(float(input.numel() // input.shape[1])),
            group=group)
        mean = all_reduce(input.sum(dims), group=group) / count
        centred = input - mean.view(shape)
        var = all_reduce(centred.pow(2).sum(dims), group=group) / count
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach(), momentum)
                self.running_var.lerp_(
                    var.detach() * count / (count - 1), momentum)
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out


def convert_cpu_sync_batchnorm(module: nn.Module,
                               process_group: Optional[Any] = None
                               ) -> nn.Module:
    """Replace every BatchNorm of ``module`` (``nn.BatchNorm1d/2d/3d``,
    torch's ``nn.SyncBatchNorm``, any ``_BatchNorm``) by
    :class:`CPUSyncBatchNorm`.

    The new layers hold the very parameters and buffers of the old ones
    (same tensors, so an optimizer built before still updates them) and
    their train/eval mode. Layers that are already ``CPUSyncBatchNorm`` are
    kept.

    Args:
        module (nn.Module): The model, converted in place.
        process_group (ProcessGroup, optional): The group to synchronise
            over, for layers that do not name one (a converted
            ``nn.SyncBatchNorm`` keeps its own). Defaults to None: all
            processes.

    Returns:
        nn.Module: ``module``, or its replacement if it is a BatchNorm
        itself.
    """
    converted = module
    if isinstance(module, _BatchNorm) and \
            not isinstance(module, CPUSyncBatchNorm):
        converted = CPUSyncBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine,
            module.track_running_stats,
            getattr(module, 'process_group', None) or process_group)
        if module.affine:
            converted.weight = module.weight
            converted.bias = module.bias
        converted.running_mean = module.running_mean
        converted.running_var = module.running_var
        converted.num_batches_tracked = module.num_batches_tracked
        converted.train(module.training)
        if hasattr(module, 'qconfig'):
            converted.qconfig = module.qconfig
    for name, child in module.named_children():
        converted.add_module(name,
                             convert_cpu_sync_batchnorm(child, process_group))
    return converted
