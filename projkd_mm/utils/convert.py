"""Converting foreign classifier checkpoints to mmpretrain's layout.

The teachers of the CIFAR-100 pairs come from the RepDistiller/CRD model zoo
(also used by mdistiller), the ImageNet ResNets from torchvision. Both store
``{'model': state_dict, ...}`` or a bare state dict whose keys are the
backbone's own names plus a classifier (``fc``, ``linear``,
``classifier``). The backbones of :mod:`projkd_mm.models.backbones` keep
those names, so converting is: prefix ``backbone.``, rename the classifier
to ``head.fc`` (mmpretrain's ``LinearClsHead``), and a rename table for the
few layers mmpretrain names differently. The result is checked key for key
and shape for shape against the mmpretrain ``ImageClassifier`` the configs
build, then saved as ``{'state_dict': ..., 'meta': ...}``.

Used by ``tools/model_converters/repdistiller_to_mmpretrain.py`` and
``tools/model_converters/torchvision_resnet_to_mmpretrain.py``.
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional

import torch
from mmpretrain.registry import MODELS
from torch import nn

from projkd_mm.fileio import atomic_torch_save
from projkd_mm.utils.safe_load import CheckpointError, load_checkpoint_file
from projkd_mm.utils.state_dict import (
    extract_state_dict,
    load_state_dict_strict,
)
from projkd_mm.zoo import (  # noqa: F401  (the converters' tables)
    REPDISTILLER_ARCHS,
    TORCHVISION_ARCHS,
    ArchSpec,
)


def classifier_config(spec: ArchSpec, num_classes: int) -> dict:
    """The mmpretrain ``ImageClassifier`` config the configs use for an arch.

    Args:
        spec (ArchSpec): The architecture.
        num_classes (int): Classes of the ``LinearClsHead``.

    Returns:
        dict: backbone, ``GlobalAveragePooling`` neck, ``LinearClsHead``.
    """
    return dict(
        type='ImageClassifier',
        backbone=dict(spec.backbone),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes,
                  in_channels=spec.feat_dim,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


def build_classifier(spec: ArchSpec, num_classes: int) -> nn.Module:
    """Build :func:`classifier_config` with mmpretrain's registry."""
    # ``import projkd_mm`` (run by importing this module) has registered
    # mmpretrain's models and projkd_mm's backbones.
    return MODELS.build(classifier_config(spec, num_classes))


def convert_state_dict(state_dict: Mapping[str, torch.Tensor],
                       spec: ArchSpec) -> 'OrderedDict[str, torch.Tensor]':
    """Rename reference keys to mmpretrain ``ImageClassifier`` keys.

    Args:
        state_dict (Mapping): The reference model's state dict.
        spec (ArchSpec): Its architecture.

    Returns:
        OrderedDict: ``head.fc.*`` for the classifier, ``backbone.*`` (with
        ``spec.renames`` applied) for everything else.
    """
    converted = OrderedDict()
    prefix = spec.classifier + '.'
    for key, value in state_dict.items():
        if key.startswith(prefix):
            converted['head.fc.' + key[len(prefix):]] = value
            continue
        for old, new in spec.renames:
            key = key.replace(old, new)
        converted['backbone.' + key] = value
    return converted


def _num_classes(state_dict: Mapping, spec: ArchSpec) -> Optional[int]:
    weight = state_dict.get(spec.classifier + '.weight')
    if isinstance(weight, torch.Tensor) and weight.dim() == 2:
        return int(weight.shape[0])
    return None


def _fill_bn_counters(model: nn.Module, converted: Dict) -> None:
    # BatchNorm's num_batches_tracked entered state dicts in PyTorch 0.4.1;
    # older files (e.g. torchvision's original ResNet weights) lack it. It is
    # unused when BN has a momentum, so 0 is exact.
    for key, value in model.state_dict().items():
        if key.endswith('.num_batches_tracked') and key not in converted:
            converted[key] = torch.zeros_like(value)


def matching_archs(state_dict: Mapping,
                   archs: Mapping[str, ArchSpec]) -> List[str]:
    """The names in ``archs`` whose layout fits ``state_dict`` exactly.

    Models are built on the meta device: no memory, no initialisation.
    """
    found = []
    for name, spec in archs.items():
        num_classes = _num_classes(state_dict, spec)
        if num_classes is None:
            continue
        with torch.device('meta'):
            model = build_classifier(spec, num_classes)
        converted = convert_state_dict(state_dict, spec)
        _fill_bn_counters(model, converted)
        own = model.state_dict()
        if set(own) == set(converted) and all(
                tuple(own[k].shape) == tuple(converted[k].shape)
                for k in own):
            found.append(name)
    return found


def _suggestion(state_dict: Mapping, archs: Mapping[str, ArchSpec],
                tool: str) -> str:
    found = matching_archs(state_dict, archs)
    if found:
        return (f'The file fits --arch {" or --arch ".join(found)}: run '
                f'{tool} again with that.')
    return (f'It fits none of the architectures {tool} knows '
            f'({", ".join(archs)}): check that it is one model of that '
            'zoo (a teacher or student), not a whole distiller (teacher, '
            'student and connectors) or another codebase\'s model.')


def _plain_meta(checkpoint: Mapping) -> dict:
    """Epoch and accuracy of the source file as plain Python numbers."""
    meta = {}
    if not isinstance(checkpoint, Mapping):
        return meta
    for key in ('epoch', 'accuracy', 'best_acc'):
        value = checkpoint.get(key)
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, (int, float)):
            meta[key] = value
    return meta


def convert_checkpoint(src: str,
                       dst: str,
                       arch: str,
                       archs: Mapping[str, ArchSpec] = REPDISTILLER_ARCHS,
                       source: str = 'RepDistiller',
                       tool: str = 'the converter') -> dict:
    """Convert a checkpoint file, check it strictly and save it for mmpretrain.

    Args:
        src (str): The reference checkpoint (``{'model': state_dict}``,
            ``{'state_dict': ...}`` or a bare state dict; ``module.``
            prefixes of DataParallel are dropped). Loaded with
            ``weights_only=True``.
        dst (str): Output file, written atomically; folders are created.
        arch (str): A key of ``archs``.
        archs (Mapping[str, ArchSpec]): :data:`REPDISTILLER_ARCHS` or
            :data:`TORCHVISION_ARCHS`.
        source (str): The zoo's name, for messages and meta.
        tool (str): The command, for messages.

    Returns:
        dict: The ``meta`` written: arch, num_classes, source and, when the
        source file has them, its epoch and accuracy.

    Raises:
        ValueError: ``arch`` is not in ``archs``.
        CheckpointError: The file is missing, corrupt, unsafe to unpickle, or
            its layout is not ``arch`` (the message names the archs it fits).
    """
    if arch not in archs:
        raise ValueError(f'Unknown --arch {arch!r} for {source} checkpoints; '
                         f'choose one of: {", ".join(archs)}.')
    spec = archs[arch]
    checkpoint = load_checkpoint_file(src, f'{source} checkpoint')
    what = f'{source} checkpoint {src!r}'
    state_dict = extract_state_dict(checkpoint, what)
    num_classes = _num_classes(state_dict, spec)
    if num_classes is None:
        raise CheckpointError(
            f'The {what} has no 2-d classifier weight '
            f'{spec.classifier + ".weight"!r}, which --arch {arch} has. '
            + _suggestion(state_dict, archs, tool))
    model = build_classifier(spec, num_classes)
    converted = convert_state_dict(state_dict, spec)
    _fill_bn_counters(model, converted)
    try:
        load_state_dict_strict(model, converted,
                               f'{what} read as --arch {arch}')
    except CheckpointError as err:
        raise CheckpointError(
            f'{err}\n{_suggestion(state_dict, archs, tool)}') from err
    meta = dict(arch=arch, num_classes=num_classes, source=source,
                source_file=osp.basename(src), **_plain_meta(checkpoint))
    atomic_torch_save({'state_dict': converted, 'meta': meta}, dst)
    return meta
