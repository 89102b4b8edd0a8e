"""Penultimate features and logits of mmpretrain classifiers."""
from dataclasses import dataclass
from typing import Dict, Iterable, Mapping

import torch
from mmpretrain.models import ImageClassifier


@dataclass
class ClassifierOutputs:
    """What one classifier gives on a dataset, in dataloader order.

    Attributes:
        feats (torch.Tensor): Penultimate features ``(N, C)``, float32, CPU.
        logits (torch.Tensor): Class scores before softmax
            ``(N, num_classes)``, float32, CPU.
        labels (torch.Tensor): True classes ``(N,)``, int64, CPU.
    """
    feats: torch.Tensor
    logits: torch.Tensor
    labels: torch.Tensor

    @property
    def top1(self) -> float:
        """Top-1 accuracy in percent."""
        correct = self.logits.argmax(dim=1) == self.labels
        return 100.0 * float(correct.double().mean())


def _penultimate(model: ImageClassifier, inputs: torch.Tensor):
    """Neck output (the head's input) and the (N, C) feature taken from it."""
    neck_out = model.extract_feat(inputs)
    # Like LinearClsHead.pre_logits, use the last element of the tuple.
    feat = neck_out[-1] if isinstance(neck_out, (tuple, list)) else neck_out
    if feat.dim() != 2:
        raise ValueError(
            f'{type(model).__name__} gives a penultimate feature of shape '
            f'{tuple(feat.shape)}, expected (N, C). Give the classifier a '
            "pooling neck, e.g. neck=dict(type='GlobalAveragePooling').")
    return neck_out, feat


@torch.no_grad()
def extract_outputs(models: Mapping[str, ImageClassifier],
                    dataloader: Iterable) -> Dict[str, ClassifierOutputs]:
    """Run classifiers over a dataloader; keep features, logits and labels.

    The penultimate feature is the one feature distillation aligns: the
    output of the classifier's neck, ``model.extract_feat(inputs)`` (which
    stops after the neck when there is one), e.g. the globally
    average-pooled last stage of a ResNet, post-ReLU. The logits are
    ``model.head`` applied to that neck output.

    Each model is put in eval mode (BatchNorm running statistics, no
    dropout) and preprocesses the batch with its own
    ``data_preprocessor`` (normalisation, channel order, device), so
    models that were trained with different preprocessing can share one
    dataloader, which is read once for all of them.

    Args:
        models (Mapping[str, ImageClassifier]): Classifiers by name, e.g.
            ``{'student': s, 'teacher': t}``.
        dataloader (Iterable): Yields mmengine batches: dicts with
            ``inputs`` and ``data_samples`` (``DataSample`` with
            ``gt_label``), e.g. from ``Runner.build_dataloader``.

    Returns:
        dict[str, ClassifierOutputs]: The outputs of each model, by name.
    """
    for name, model in models.items():
        if not isinstance(model, ImageClassifier):
            raise TypeError(f'extract_outputs: {name!r} is a '
                            f'{type(model).__name__}, expected an mmpretrain '
                            'ImageClassifier.')
        model.eval()
    feats = {name: [] for name in models}
    logits = {name: [] for name in models}
    labels = []
    for batch in dataloader:
        labels.append(
            torch.cat([s.gt_label.view(-1) for s in batch['data_samples']]))
        for name, model in models.items():
            data = model.data_preprocessor(batch, False)
            neck_out, feat = _penultimate(model, data['inputs'])
            feats[name].append(feat.float().cpu())
            logits[name].append(model.head(neck_out).float().cpu())
    if not labels:
        raise ValueError('extract_outputs: the dataloader yielded no batch.')
    all_labels = torch.cat(labels).long()
    return {
        name: ClassifierOutputs(
            torch.cat(feats[name]), torch.cat(logits[name]), all_labels)
        for name in models
    }
