
import math
from typing import Optional

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
    https://github.com/chenyd7/PEFD).

    With ``normalize=True`` (the paper's) each sample's feature is flattened
    and divided by its L2 norm, :math:`\hat{s} = s / \lVert s \rVert_2`.
    Two unit vectors differ by

    .. math::
        \lVert \hat{s} - \hat{t} \rVert_2^2
            = \lVert \hat{s} \rVert_2^2 + \lVert \hat{t} \rVert_2^2
              - 2\, \hat{s} \cdot \hat{t}
            = 2\, (1 - \cos(s, t)),

    so over a batch of ``N`` samples, with ``reduction='batchmean'`` (sum
    over the feature, mean over the batch),

    .. math::
        \mathcal{L} = \frac{w}{N} \sum_{n=1}^{N}
            \lVert \hat{s}_n - \hat{t}_n \rVert_2^2
        = 2w \cdot \frac{1}{N} \sum_{n=1}^{N} (1 - \cos(s_n, t_n)).

    The reference code computes ``25 * mean(1 - cos)``: ``loss_weight=12.5``
    with ``reduction='batchmean'`` is that value exactly (the paper's
    recipe; tests/test_feature_mse_loss.py checks it against the reference's
    formula). Non-negative features (after a ReLU) have ``cos >= 0``, so the
    loss then lies in ``[0, 25]``. ``reduction='mean'`` also divides by the
    feature size ``D`` (``C`` or ``C*H*W``), which makes the same weight
    ``D`` times weaker (256-2048x for usual widths); ``'sum'`` does not
    divide by ``N``. With ``normalize_over='location'`` the identity holds
    per location and the loss sums ``2w (1 - cos)`` over the ``H*W``
    locations before the mean over the batch.

    The teacher feature is detached: no gradient ever reaches the teacher.

    .. note::
        mmrazor's ``L2Loss`` (mmrazor 1.0.0) computes the same value for
        features of norm above ``eps`` with its defaults:
        ``L2Loss(loss_weight=w, normalize=b, mult=1.0, div_element=False,
        dist=False)`` equals ``FeatureMSELoss(loss_weight=w, normalize=b)``
        (``reduction='batchmean'``, ``normalize_over='sample'``), and
        ``div_element=True`` equals ``reduction='mean'``. Its other
        arguments mean something else: ``mult=m`` multiplies the normalised
        features, so the loss is ``m**2`` times ours; ``dist=True`` returns
        ``w * sqrt(sum)``, the square root of ``reduction='sum'`` at weight
        1. Where the two differ whatever the arguments: ``L2Loss`` divides
        by the bare norm (an all-zero feature gives NaN), lets the gradient
        reach the teacher feature, computes in the input's dtype (an fp16
        feature of norm above 65504 gets an infinite norm and a wrong
        loss) and has no ``normalize_over`` or ``teacher_pool``.

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
        normalize_over (str): What one L2-normalised vector is:
            ``'sample'`` (the paper's: the whole flattened feature of a
            sample, so the loss per sample is at most 4 whatever the
            feature size) or ``'location'`` (each spatial location's, or
            token's, channel vector of an ``(N, C, H, W)`` map or
            ``(N, L, C)`` token feature: a direction loss per location,
            summed over the ``H*W`` locations). Defaults to 'sample'.
        teacher_pool (str, optional): ``'adaptive_avg'`` brings the teacher
            feature to the student's layout by average pooling when they
            differ: a teacher map ``(N, C, H', W')`` to the student map's
            ``H x W`` (``adaptive_avg_pool2d``; a teacher map smaller than
            the student's is an error, never upsampled) or to a pooled student
            ``(N, C)``; teacher tokens ``(N, L, C)`` to a pooled ``(N, C)``
            (mean over tokens). ``None``: the two must have the same
            shape. Defaults to None.

    Shapes:
        - s_feature: ``(N, *)``, the student feature after its connector.
        - t_feature: ``(N, *)`` with the same shape (or, with
          ``teacher_pool``, one that pools to it).
        - Output: scalar.
    """

    _REDUCTIONS = ('batchmean', 'mean', 'sum')
    _NORMALIZE_OVER = ('sample', 'location')
    _TEACHER_POOL = (None, 'adaptive_avg')

    def __init__(self,
                 loss_weight: float = 1.0,
                 normalize: bool = True,
                 reduction: str = 'batchmean',
                 eps: float = 1e-8,
                 normalize_over: str = 'sample',
                 teacher_pool: Optional[str] = None) -> None:
        super().__init__()
        if normalize_over not in self._NORMALIZE_OVER:
            raise ValueError(f'FeatureMSELoss: normalize_over must be one of '
                             f'{self._NORMALIZE_OVER}, got '
                             f'{normalize_over!r}.')
        if teacher_pool not in self._TEACHER_POOL:
            raise ValueError(f'FeatureMSELoss: teacher_pool must be one of '
                             f'{self._TEACHER_POOL}, got {teacher_pool!r}.')
        self.normalize_over = normalize_over
        self.teacher_pool = teacher_pool
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
        t_feature = t_feature.detach()
        if self.teacher_pool is not None:
            t_feature = self._pool_teacher(s_feature, t_feature)
        s = s_feature.flatten(1)
        t = t_feature.flatten(1)
        if s.shape != t.shape:
            raise ValueError(self._mismatch(s_feature, t_feature))
        # Norms of large features overflow fp16; the loss is tiny, do it in
        # fp32 whatever autocast says.
        with torch.autocast(device_type=s.device.type, enabled=False):
            dtype = torch.promote_types(s.dtype, torch.float32)
            s, t = s.to(dtype), t.to(dtype)
            if self.normalize and self.normalize_over == 'location' and \
                    s_feature.dim() > 2:
                # Channels of every location: dim 1 of a map, dim 2 (last)
                # of tokens.
                dim = 2 if s_feature.dim() == 3 else 1
                s = F.normalize(s_feature.to(dtype), dim=dim, eps=self.eps)
                t = F.normalize(t_feature.to(dtype), dim=dim, eps=self.eps)
                s, t = s.flatten(1), t.flatten(1)
            elif self.normalize:
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

    def _mismatch(self, s: torch.Tensor, t: torch.Tensor) -> str:
        """What is wrong when the two features do not compare, and the fix."""
        if s.dim() != t.dim() or (s.dim() == 4 and s.shape[1] == t.shape[1]
                                  and s.shape[2:] != t.shape[2:]):
            poolable = (t.dim() == 4 and s.dim() == 2) or (
                t.dim() == 4 and s.dim() == 4
                and t.shape[2] >= s.shape[2] and t.shape[3] >= s.shape[3]
            ) or (t.dim() == 3 and s.dim() == 2)
            pool = ('' if self.teacher_pool or not poolable else
                    ", or set the loss's teacher_pool='adaptive_avg' to pool "
                    "the teacher feature to the student's layout")
            return (f'FeatureMSELoss: the student feature {self._layout(s)} '
                    f'(after its connector) and the teacher feature '
                    f'{self._layout(t)} have different layouts or sizes, so '
                    'they cannot be compared element by element. Record '
                    'features of one layout on both sides (e.g. the pooled '
                    f'output of the neck){pool}.')
        channels = t.shape[2] if t.dim() == 3 else t.shape[1]
        return ('FeatureMSELoss: the student feature (after its connector) '
                f'has shape {tuple(s.shape)} but the teacher feature has '
                f'shape {tuple(t.shape)}. Make them agree: set out_channels '
                "of the student's connector (model.distiller.connectors."
                f"<name>.out_channels) to the teacher's channels ({channels}"
                '), or leave it out to have it inferred, or record a teacher '
                'layer whose width matches (model.distiller.'
                'teacher_recorders).')

    @staticmethod
    def _layout(x: torch.Tensor) -> str:
        names = {2: 'pooled (N, C)', 3: 'tokens (N, L, C)',
                 4: 'map (N, C, H, W)'}
        return f'{names.get(x.dim(), "tensor")} {tuple(x.shape)}'

    def _pool_teacher(self, s: torch.Tensor,
                      t: torch.Tensor) -> torch.Tensor:
        """The teacher feature average-pooled to the student's layout."""
        if t.shape == s.shape:
            return t
        if t.dim() == 4 and s.dim() == 4:
            if t.shape[2] < s.shape[2] or t.shape[3] < s.shape[3]:
                raise ValueError(
                    "FeatureMSELoss (teacher_pool='adaptive_avg'): the "
                    f'teacher map {tuple(t.shape)} is smaller than the '
                    f"student's {tuple(s.shape)}; pooling only shrinks a "
                    'map, and would upsample this one (repeating teacher '
                    'values). Record a student map no larger than the '
                    "teacher's (a later student stage, or an earlier "
                    'teacher one: model.distiller.*_recorders.<name>.'
                    'source).')
            return F.adaptive_avg_pool2d(t, s.shape[2:])
        if t.dim() == 4 and s.dim() == 2:
            return t.mean(dim=(2, 3))
        if t.dim() == 3 and s.dim() == 2:
            return t.mean(dim=1)
        raise ValueError(
            f"FeatureMSELoss (teacher_pool='adaptive_avg'): a teacher "
            f'{self._layout(t)} cannot be pooled to the student\'s '
            f'{self._layout(s)}: pooling goes from maps to smaller maps or '
            'to (N, C), and from tokens to (N, C) only. Record a pooled '
            'student feature (e.g. source=\'neck\') for a teacher that '
            'gives tokens, or a teacher map for a student map.')

    def extra_repr(self) -> str:
        extra = ''
        if self.normalize_over != 'sample':
            extra += f', normalize_over={self.normalize_over!r}'
        if self.teacher_pool is not None:
            extra += f', teacher_pool={self.teacher_pool!r}'
        return (f'loss_weight={self.loss_weight}, normalize={self.normalize}, '
                f'reduction={self.reduction!r}' + extra)
