
import math

import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import nn


@MODELS.register_module()
class FeatureMSELoss(nn.Module):
    r"""Squared L2 distance between (normalised) student and teacher features.

    The direction-alignment loss of "Improved Feature Distillation via
    Projector Ensemble", Chen et al., NeurIPS 2022
    (https://arxiv.org/abs/2210.15274; reference code
    https://github.com/chenyd7/PEFD). With ``normalize=True`` each sample's
    feature is flattened and divided by its L2 norm, and

    .. math::
        \mathcal{L} = w \cdot \frac{1}{N} \sum_n
            \lVert \hat{s}_n - \hat{t}_n \rVert_2^2
        = w \cdot \frac{2}{N} \sum_n (1 - \cos(s_n, t_n))

    for ``reduction='batchmean'``: so ``loss_weight=12.5`` reproduces the
    reference's ``25 * mean(1 - cos)`` exactly. ``reduction='mean'`` also
    divides by the feature size (``C`` or ``C*H*W``), which makes the same
    weight 256-2048x weaker: keep ``batchmean`` for the paper's recipe.

    The teacher feature is detached: no gradient ever reaches the teacher.

    Args:
        loss_weight (float): Weight ``w``. Defaults to 1.0.
        normalize (bool): L2-normalise every sample's feature first.
            Defaults to True.
        reduction (str): ``'batchmean'`` (sum over all non-batch dims, mean
            over the batch), ``'mean'`` (element-wise mean) or ``'sum'``.
            Defaults to ``'batchmean'``.
        eps (float): Lower bound of the norm when normalising, so an all-zero
            feature gives a finite loss (the reference divides by the bare
            norm and returns NaN). Features with a norm above ``eps`` are
            normalised exactly as without it. Defaults to 1e-8.

    Shapes:
        - s_feature: ``(N, *)``, the student feature after its connector.
        - t_feature: ``(N, *)`` with the same number of elements per sample.
        - Output: scalar.
    """

    _REDUCTIONS = ('batchmean', 'mean', 'sum')

    def __init__(self,
                 loss_weight: float = 1.0,
                 normalize: bool = True,
                 reduction: str = 'batchmean',
                 eps: float = 1e-8) -> None:
        super().__init__()
        if reduction not in self._REDUCTIONS:
            raise ValueError(f'FeatureMSELoss: reduction must be one of '
                             f'{self._REDUCTIONS}, got {reduction!r}.')
        if not isinstance(normalize, bool):
            raise ValueError('FeatureMSELoss: normalize must be True (the '
                             'paper\'s direction loss) or False (raw '
                             f'features), got {normalize!r}.')
        if isinstance(loss_weight, bool) or \
                not isinstance(loss_weight, (int, float)) or \
                not math.isfinite(loss_weight) or loss_weight < 0:
            raise ValueError('FeatureMSELoss: loss_weight must be a finite '
                             f'number >= 0, got {loss_weight!r}; a negative '
                             'weight would push the student away from the '
                             'teacher.')
        self.loss_weight = loss_weight
        self.normalize = normalize
        self.reduction = reduction
        self.eps = eps

    def forward(self, s_feature: torch.Tensor,
                t_feature: torch.Tensor) -> torch.Tensor:
        """Compute the weighted loss.

        Args:
            s_feature (Tensor): Student feature ``(N, *)``.
            t_feature (Tensor): Teacher feature ``(N, *)``.

        Returns:
            Tensor: Scalar loss, computed in fp32 (fp64 for fp64 inputs),
            even under autocast.
        """
        s = s_feature.flatten(1)
        t = t_feature.detach().flatten(1)
        if s.shape != t.shape:
            raise ValueError(
                'FeatureMSELoss: the student feature (after its connector) '
                f'has shape {tuple(s_feature.shape)} but the teacher feature '
                f'has shape {tuple(t_feature.shape)}. Make them agree: set '
                'out_channels of the student\'s connector '
                '(model.distiller.connectors.<name>.out_channels) to the '
                f'teacher\'s channels ({t.shape[1] if t.dim() > 1 else "?"}'
                ' for a pooled feature), or record a teacher layer whose '
                'width matches (model.distiller.teacher_recorders).')
        # Norms of large features overflow fp16; the loss is tiny, do it in
        # fp32 whatever autocast says.
        with torch.autocast(device_type=s.device.type, enabled=False):
            dtype = torch.promote_types(s.dtype, torch.float32)
            s, t = s.to(dtype), t.to(dtype)
            if self.normalize:
                s = F.normalize(s, dim=1, eps=self.eps)
                t = F.normalize(t, dim=1, eps=self.eps)
            sq = (s - t).pow(2)
            if self.reduction == 'batchmean':
                loss = sq.sum() / s.shape[0]
            elif self.reduction == 'mean':
                loss = sq.mean()
            else:
                loss = sq.sum()
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, normalize={self.normalize}, '
                f'reduction={self.reduction!r}')
