"""Calibration of a classifier's confidence: reliability bins and ECE.

The ECE itself is torchmetrics' ``multiclass_calibration_error``; the bins
behind a reliability diagram, which torchmetrics does not return, are
:func:`calibration_bins` (a test checks that the two agree).
"""
from typing import Dict

import torch
from torchmetrics.functional.classification import (
    multiclass_calibration_error,
)


def _to_probs(probs_or_logits: torch.Tensor) -> torch.Tensor:
    """Rows that are already distributions stay; others get a softmax."""
    scores = probs_or_logits.detach().to(torch.float64)
    is_distribution = bool((scores >= 0).all()) and torch.allclose(
        scores.sum(dim=1), torch.ones_like(scores[:, 0]), atol=1e-4)
    return scores if is_distribution else scores.softmax(dim=1)


def _check_inputs(caller: str, probs_or_logits: torch.Tensor,
                  labels: torch.Tensor, n_bins: int) -> None:
    """Scores (N, num_classes), labels (N,) and at least one bin."""
    if probs_or_logits.dim() != 2 or labels.shape != (
            probs_or_logits.shape[0], ):
        raise ValueError(
            f'{caller} expects scores (N, num_classes) and labels (N,), got '
            f'{tuple(probs_or_logits.shape)} and {tuple(labels.shape)}.')
    if n_bins < 1:
        raise ValueError(f'n_bins must be >= 1, got {n_bins}.')


def calibration_bins(probs_or_logits: torch.Tensor,
                     labels: torch.Tensor,
                     n_bins: int = 15) -> Dict[str, torch.Tensor]:
    """Accuracy and mean confidence per equal-width confidence bin.

    The data of a reliability diagram (Guo, Pleiss, Sun, Weinberger, "On
    Calibration of Modern Neural Networks", ICML 2017, arXiv 1706.04599,
    section 2): the confidence of a sample is its top class probability
    :math:`\\hat p_i = \\max_k p_{ik}`, its prediction
    :math:`\\hat y_i = \\arg\\max_k p_{ik}`, and bin :math:`B_m` holds the
    samples with :math:`\\hat p_i \\in ((m-1)/M, m/M]`, m = 1..M.

    Args:
        probs_or_logits (torch.Tensor): Class scores of shape
            ``(N, num_classes)``. Taken as probabilities when every row is
            non-negative and sums to 1 (within 1e-4), else as logits and
            passed through a softmax.
        labels (torch.Tensor): True classes, integer tensor of shape
            ``(N,)``.
        n_bins (int): Number of bins M over [0, 1]. Defaults to 15, the
            value of Guo et al.

    Returns:
        dict[str, torch.Tensor]: float64 tensors of shape ``(n_bins,)``:
        ``count`` (samples per bin), ``accuracy`` and ``confidence`` (mean
        over the bin's samples; NaN for an empty bin), and ``upper`` (each
        bin's upper edge m/M).
    """
    _check_inputs('calibration_bins', probs_or_logits, labels, n_bins)
    confidence, prediction = _to_probs(probs_or_logits).max(dim=1)
    correct = (prediction.cpu() == labels.cpu()).to(torch.float64)
    confidence = confidence.cpu()
    # Bin m (0-based) is (m/M, (m+1)/M]: ceil(p * M) - 1.
    index = (torch.ceil(confidence * n_bins).long() - 1).clamp(0, n_bins - 1)
    count = torch.bincount(index, minlength=n_bins).to(torch.float64)
    acc_sum = torch.bincount(index, weights=correct, minlength=n_bins)
    conf_sum = torch.bincount(index, weights=confidence, minlength=n_bins)
    return dict(
        count=count,
        accuracy=acc_sum / count,
        confidence=conf_sum / count,
        upper=torch.arange(1, n_bins + 1, dtype=torch.float64) / n_bins)


def expected_calibration_error(probs_or_logits: torch.Tensor,
                               labels: torch.Tensor,
                               n_bins: int = 15) -> float:
    """Expected calibration error with equal-width confidence bins.

    Guo, Pleiss, Sun, Weinberger, "On Calibration of Modern Neural
    Networks", ICML 2017 (arXiv 1706.04599), eq. (3):

    .. math::

        \\mathrm{ECE} = \\sum_{m=1}^{M} \\frac{|B_m|}{N}
            \\left| \\mathrm{acc}(B_m) - \\mathrm{conf}(B_m) \\right|,

    computed by torchmetrics (``multiclass_calibration_error``, ``norm='l1'``)
    on the bins of :func:`calibration_bins`. 0 is perfect calibration; an
    over-confident network has a high ECE.

    Args:
        probs_or_logits (torch.Tensor): Class probabilities or logits of
            shape ``(N, num_classes)`` (see :func:`calibration_bins`).
        labels (torch.Tensor): True classes of shape ``(N,)``.
        n_bins (int): Number of equal-width bins M. Defaults to 15.

    Returns:
        float: The ECE, a fraction in [0, 1] (not a percentage).
    """
    # The input checks and the logits-or-probabilities rule of the
    # reliability bins, so the diagram and the figure see the same input.
    _check_inputs('expected_calibration_error', probs_or_logits, labels,
                  n_bins)
    probs = _to_probs(probs_or_logits).cpu()
    return float(multiclass_calibration_error(
        probs, labels.cpu().long(), num_classes=probs.shape[1],
        n_bins=n_bins, norm='l1'))
