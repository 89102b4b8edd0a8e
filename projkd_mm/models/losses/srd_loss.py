import math

import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import nn


def _check_number(name: str, value, minimum: float, strict: bool,
                  why: str) -> None:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float))
          and math.isfinite(value)
          and (value > minimum if strict else value >= minimum))
    if not ok:
        bound = f'> {minimum}' if strict else f'>= {minimum}'
        raise ValueError(f'SRDLoss: {name} must be a finite number {bound}, '
                         f'got {value!r}; {why}')


@MODELS.register_module()
class SRDLoss(nn.Module):
    r"""Log of the summed 4th-power distance between batch-normalised
    features: the feature term of SRD.

    From "Understanding the Role of the Projector in Knowledge
    Distillation", Roy Miles and Krystian Mikolajczyk, AAAI 2024
    (https://arxiv.org/abs/2303.11098; the authors' code
    https://github.com/roymiles/Simple-Recipe-Distillation, class
    ``OurDistillationLoss`` in ``imagenet/torchdistill/losses/single.py``;
    also torchdistill's ``SRDLoss`` in ``torchdistill/losses/mid_level.py``).
    Given the student's pooled feature after ONE linear projector
    ``C_s -> C_t`` without activation (the connector, see below) and the
    teacher's pooled feature, each is normalised over the batch, per
    channel, without affine parameters:

    .. math::
        z_{n,c} = \frac{x_{n,c} - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}},
        \quad \mu_c = \frac{1}{N}\sum_n x_{n,c},
        \quad \sigma_c^2 = \frac{1}{N}\sum_n (x_{n,c} - \mu_c)^2

    (``BatchNorm1d(C_t, eps=1e-4, affine=False)`` in training mode, one for
    each side), and

    .. math::
        \mathcal{L} = w \cdot \log \sum_{n=1}^{N} \sum_{c=1}^{C_t}
            \lvert z^s_{n,c} - z^t_{n,c} \rvert^{p}

    with ``p = 4`` and ``w = 2``. The sum runs over batch AND channels, with
    no mean: the batch size and width only add the constant
    :math:`\log(N C_t)`, which the logarithm makes gradient-free, so the
    loss value can be negative and is not comparable across batch sizes.
    SRD's full objective adds cross-entropy (weight 1) and KL divergence at
    temperature 1 (weight 1): the student's own head loss and mmrazor's
    ``KLDivergence(tau=1)``, as in the config below.

    The teacher feature is detached: no gradient ever reaches the teacher.
    The loss is computed in fp32 (fp64 for fp64 inputs) whatever autocast
    says: :math:`|z|^4` summed over a batch overflows fp16.

    Where ours follows the authors' code (commit 31e8477, file
    ``imagenet/torchdistill/losses/single.py`` unless named) and where it
    cannot:

    - Projector: their ``nn.Linear(s_dim, t_dim)`` (line 140), with bias
      and PyTorch's default init, no activation: here
      ``ProjectorEnsembleConnector(num_projectors=1, act_cfg=None)``, the
      same layer and init. Their trainer adds it to the optimizer with the
      student's SGD settings (``core/distillation.py`` line 182); here it is
      part of the model, so the optim wrapper's settings apply to it too.
    - Features: their ``layer4`` output averaged over height and width
      (lines 168-169); here the neck's ``GlobalAveragePooling`` output, the
      same value.
    - Normalisation: their two ``BatchNorm1d(t_dim, eps=0.0001,
      affine=False)`` (lines 141-142) live in the loss module, whose mode
      nothing changes (their trainer switches only the teacher to eval and
      the student to train, ``core/distillation.py`` lines 250-251): they
      always normalise with the current batch's statistics, and the running
      statistics they keep are never read. Ours computes that same
      normalisation in every mode and keeps no running statistics, so it
      has no state in checkpoints and needs no width. It departs from an
      ``nn.BatchNorm1d`` only where theirs is never called: in eval mode
      (e.g. the build-time dry run of ``CheckedSingleTeacherDistill``) an
      ``nn.BatchNorm1d`` would use its running statistics, ours still uses
      the batch's. Statistics are per process, as theirs under DDP
      (no SyncBatchNorm).
    - The distance: ``log(sum(|z_s - z_t| ** 4))`` with no epsilon (lines
      159-163), weighted 2 (line 172): the same. When the two normalised
      features are identical the sum is 0 and the loss is ``-inf``;
      ``CheckedSingleTeacherDistill``'s non-finite guard then stops (or,
      with ``nonfinite='skip'``, skips) the step.
    - The teacher: frozen and in eval mode there (BatchNorm included) and
      here (``CheckedSingleTeacherDistill``). Their loss is in fp32; the
      configs here run the frozen teacher's forward in bf16 where the
      device computes it natively (``teacher_dtype='auto'``; the features
      reach this loss in fp32), ``teacher_dtype='fp32'`` is the exact one.
    - The KL term, ``kl_div(log_softmax(y_s), softmax(y_t))`` summed and
      divided by the batch size at T = 1 (lines 175-180), is mmrazor's
      ``KLDivergence(tau=1, reduction='batchmean')``: the same value. Their
      widths are fixed in the code (512 -> 512); here they come from the
      config.

    Args:
        loss_weight (float): Weight ``w``. Defaults to 2.0 (the paper's).
        exponent (float): The power ``p`` of the element-wise distance.
            Defaults to 4.0 (the authors'; torchdistill's ``exponent``).
        eps (float): :math:`\epsilon` added to the batch variance. Defaults
            to 1e-4 (the authors' ``BatchNorm1d(eps=0.0001)``).

    Shapes:
        - s_feature: ``(N, C_t)`` or ``(N, C_t, 1, 1)``, the student's
          pooled feature after its projector. ``N >= 2``: a batch of one
          has no batch statistics.
        - t_feature: the teacher's pooled feature, the same shape.
        - Output: scalar.

    Example (the distiller of
    ``configs/projkd/fashion_mnist/srd_resnet20s2_resnet8s2_5e_fmnist.py``;
    the student's cross-entropy, weight 1, is its head's loss)::

        distiller=dict(
            type='CheckedConfigurableDistiller',
            student_recorders=dict(
                feat=dict(type='ModuleOutputs', source='neck'),
                logits=dict(type='ModuleOutputs', source='head.fc')),
            teacher_recorders=dict(
                feat=dict(type='ModuleOutputs', source='neck'),
                logits=dict(type='ModuleOutputs', source='head.fc')),
            connectors=dict(
                projector=dict(type='ProjectorEnsembleConnector',
                               in_channels=64, out_channels=64,
                               num_projectors=1, act_cfg=None)),
            distill_losses=dict(
                loss_srd=dict(type='SRDLoss', loss_weight=2.0),
                loss_kd=dict(type='KLDivergence', tau=1, loss_weight=1.0,
                             reduction='batchmean')),
            loss_forward_mappings=dict(
                loss_srd=dict(
                    s_feature=dict(from_student=True, recorder='feat',
                                   data_idx=0, connector='projector'),
                    t_feature=dict(from_student=False, recorder='feat',
                                   data_idx=0)),
                loss_kd=dict(
                    preds_S=dict(from_student=True, recorder='logits'),
                    preds_T=dict(from_student=False, recorder='logits'))))
    """

    def __init__(self,
                 loss_weight: float = 2.0,
                 exponent: float = 4.0,
                 eps: float = 1e-4) -> None:
        super().__init__()
        _check_number('loss_weight', loss_weight, 0, False,
                      'a negative weight would push the student away from '
                      'the teacher.')
        _check_number('exponent', exponent, 0, True,
                      'the paper uses 4.')
        _check_number('eps', eps, 0, True,
                      'it keeps a constant channel (zero batch variance) '
                      'finite; the paper uses 1e-4.')
        self.loss_weight = loss_weight
        self.exponent = exponent
        self.eps = eps

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Per-channel batch normalisation without affine parameters,
        always with the batch's statistics (see the class docstring).

        Args:
            x (Tensor): ``(N, C)``, ``N >= 2``.

        Returns:
            Tensor: ``(N, C)``, each channel with mean 0 and (biased)
            variance :math:`\\sigma^2 / (\\sigma^2 + \\epsilon)`.
        """
        return F.batch_norm(x, None, None, training=True, eps=self.eps)

    def forward(self, s_feature: torch.Tensor,
                t_feature: torch.Tensor) -> torch.Tensor:
        """Compute the weighted loss.

        Args:
            s_feature (Tensor): The projected student feature ``(N, C_t)``
                or ``(N, C_t, 1, 1)``.
            t_feature (Tensor): The teacher feature, the same shape.

        Returns:
            Tensor: Scalar loss.
        """
        s = self._pooled(s_feature, 'student')
        t = self._pooled(t_feature.detach(), 'teacher')
        if s.shape != t.shape:
            raise ValueError(self._mismatch(s, t))
        if s.shape[0] < 2:
            raise ValueError(
                f'SRDLoss: a batch of {s.shape[0]} sample has no batch '
                'statistics to normalise with (the authors\' BatchNorm1d '
                'fails the same way). Use batches of 2 or more; if only the '
                'last batch of an epoch is this small, set '
                'train_dataloader.drop_last=True.')
        with torch.autocast(device_type=s.device.type, enabled=False):
            dtype = torch.promote_types(s.dtype, torch.float32)
            diff = self.normalize(s.to(dtype)) - self.normalize(t.to(dtype))
            loss = diff.abs().pow(self.exponent).sum().log()
        return self.loss_weight * loss

    @staticmethod
    def _pooled(x: torch.Tensor, side: str) -> torch.Tensor:
        if x.dim() == 4 and x.shape[2:] == (1, 1):
            return x.flatten(1)
        if x.dim() == 2:
            return x
        raise ValueError(
            f'SRDLoss takes pooled features, (N, C) or (N, C, 1, 1), but the '
            f'{side} feature has shape {tuple(x.shape)}. Record the pooled '
            "penultimate feature on both sides (the recorder's source, e.g. "
            "'neck' of an mmpretrain classifier with GlobalAveragePooling, "
            'data_idx=0).')

    @staticmethod
    def _mismatch(s: torch.Tensor, t: torch.Tensor) -> str:
        if s.shape[0] != t.shape[0]:
            return (f'SRDLoss: the student feature has {s.shape[0]} samples '
                    f'but the teacher feature {t.shape[0]}: both must be '
                    'recorded on the same batch.')
        return (f'SRDLoss: the projected student feature has {s.shape[1]} '
                f'channels but the teacher feature {t.shape[1]} (shapes '
                f'{tuple(s.shape)} and {tuple(t.shape)}). Set the student '
                "connector's out_channels (model.distiller.connectors."
                f'<name>.out_channels) to {t.shape[1]}, or leave it out to '
                'have it inferred from model.input_size.')

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, exponent={self.exponent}, '
                f'eps={self.eps}')
