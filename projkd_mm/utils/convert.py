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
import argparse
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import torch
from mmpretrain.registry import MODELS
from torch import nn

from projkd_mm.fileio import atomic_torch_save
from projkd_mm.utils.checkpoint import (
    CheckpointError,
    extract_state_dict,
    load_checkpoint_file,
    load_state_dict_strict,
)


class ArchSpec(NamedTuple):
    """How one reference architecture maps onto an mmpretrain classifier.

    Attributes:
        backbone (dict): mmpretrain backbone config (registered type).
        feat_dim (int): Penultimate width, the head's ``in_channels``.
        classifier (str): The reference's classifier prefix, renamed to
            ``head.fc``.
        renames (tuple): ``(old, new)`` substrings replaced in backbone keys,
            for layers mmpretrain names differently.
    """
    backbone: dict
    feat_dim: int
    classifier: str
    renames: Tuple[Tuple[str, str], ...] = ()


def _cifar_resnet(depth: int, x4: bool = False) -> ArchSpec:
    filters = (32, 64, 128, 256) if x4 else (16, 16, 32, 64)
    return ArchSpec(
        dict(type='CifarResNet', depth=depth, num_filters=filters),
        filters[3], 'fc')


def _wrn(depth: int, widen_factor: int) -> ArchSpec:
    return ArchSpec(
        dict(type='CifarWideResNet', depth=depth, widen_factor=widen_factor),
        64 * widen_factor, 'fc')


def _vgg(depth: int) -> ArchSpec:
    return ArchSpec(dict(type='CifarVGG', depth=depth), 512, 'classifier')


#: The RepDistiller ``models.model_dict`` names (as in its checkpoint folders,
#: e.g. ``resnet32x4_vanilla``), with 100-class CIFAR heads in mind.
REPDISTILLER_ARCHS: Dict[str, ArchSpec] = {
    **{f'resnet{d}': _cifar_resnet(d)
       for d in (8, 14, 20, 32, 44, 56, 110)},
    'resnet8x4': _cifar_resnet(8, x4=True),
    'resnet32x4': _cifar_resnet(32, x4=True),
    # The 4-stage "ResNet50" of RepDistiller's models/resnetv2.py is
    # mmpretrain's ResNet_CIFAR layer for layer; only the shortcut's name
    # differs.
    'ResNet50': ArchSpec(
        dict(type='ResNet_CIFAR', depth=50, out_indices=(3, )), 2048,
        'linear', (('.shortcut.', '.downsample.'), )),
    'wrn_16_1': _wrn(16, 1),
    'wrn_16_2': _wrn(16, 2),
    'wrn_40_1': _wrn(40, 1),
    'wrn_40_2': _wrn(40, 2),
    **{f'vgg{d}': _vgg(d) for d in (8, 11, 13, 16, 19)},
    'MobileNetV2': ArchSpec(
        dict(type='CifarMobileNetV2', width_mult=0.5), 1280, 'classifier.0'),
    'ShuffleV1': ArchSpec(dict(type='CifarShuffleNetV1'), 960, 'linear'),
    'ShuffleV2': ArchSpec(dict(type='CifarShuffleNetV2'), 1024, 'linear'),
}

#: torchvision ``resnetXX`` -> mmpretrain ``ResNet``: the same names.
TORCHVISION_ARCHS: Dict[str, ArchSpec] = {
    f'resnet{d}': ArchSpec(
        dict(type='ResNet', depth=d, num_stages=4, out_indices=(3, ),
             style='pytorch'), 512 if d < 50 else 2048, 'fc')
    for d in (18, 34, 50, 101, 152)
}


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


def converter_main(archs: Mapping[str, ArchSpec], source: str,
                   description: str,
                   argv: Optional[Sequence[str]] = None) -> int:
    """Command line of the converters in ``tools/model_converters/``.

    Returns:
        int: 0 on success, 1 with the reason on stderr otherwise.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help=f'{source} checkpoint (.pth)')
    parser.add_argument('dst', help='output mmpretrain checkpoint (.pth)')
    parser.add_argument('--arch', required=True, choices=list(archs),
                        help='the architecture the checkpoint was trained '
                        'as (its model name in the source zoo)')
    args = parser.parse_args(argv)
    try:
        meta = convert_checkpoint(args.src, args.dst, args.arch, archs,
                                  source, parser.prog)
    except (CheckpointError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'Wrote {args.dst}: {meta["arch"]}, {meta["num_classes"]} classes'
          f', checked against the mmpretrain ImageClassifier '
          f'(backbone {archs[args.arch].backbone["type"]}).')
    return 0
