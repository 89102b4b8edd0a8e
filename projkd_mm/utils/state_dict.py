"""State dicts: finding one in a checkpoint, splitting a distillation
checkpoint into its models, and loading one strictly.

Files are read under the trust policy of :mod:`projkd_mm.utils.safe_load`;
this module only deals with what they hold.
"""
from collections import OrderedDict
from typing import List, Mapping

from torch import nn

from projkd_mm.utils.safe_load import CheckpointError, load_checkpoint_file


def extract_state_dict(checkpoint: Mapping, what: str) -> 'OrderedDict':
    """Return the state dict of a checkpoint in any usual layout."""
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(
            f'The {what} holds a {type(checkpoint).__name__}, expected a '
            'dict of tensors or a dict with a "state_dict" entry.')
    for key in ('state_dict', 'model'):
        if key in checkpoint and isinstance(checkpoint[key], Mapping):
            checkpoint = checkpoint[key]
            break
    state_dict = OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in checkpoint.items())
    return state_dict


#: Where a distillation Runner checkpoint keeps each model.
STUDENT_PREFIX = 'architecture.'
TEACHER_PREFIX = 'teacher.'


def split_state_dict(state_dict: Mapping, prefix: str) -> 'OrderedDict':
    """The entries of ``state_dict`` under ``prefix``, prefix removed: the
    student (``'architecture.'``) or the teacher (``'teacher.'``) of a
    distillation checkpoint. A prefix without its trailing dot means the
    same as with it."""
    if not prefix.endswith('.'):
        prefix += '.'
    return OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                       if k.startswith(prefix))


def load_weights_strict(module: nn.Module, path: str, what: str) -> None:
    """Load the weights of the file ``path`` into ``module``, strictly.

    The one way projkd_mm loads a model's weights from a file: the file is
    read under the trust policy (:func:`load_checkpoint_file`), its state
    dict found in any usual layout (:func:`extract_state_dict`) and loaded
    key for key and shape for shape (:func:`load_state_dict_strict`).
    ``what`` names the file in errors, e.g. ``"teacher checkpoint
    (model.teacher_ckpt='t.pth')"``.
    """
    state_dict = extract_state_dict(load_checkpoint_file(path, what), what)
    load_state_dict_strict(module, state_dict, what)


def _summarise(keys: List[str], limit: int = 8) -> str:
    shown = ', '.join(keys[:limit])
    return shown + (f', ... ({len(keys) - limit} more)'
                    if len(keys) > limit else '')


def load_state_dict_strict(module: nn.Module, state_dict: Mapping,
                           what: str) -> None:
    """Load every parameter and buffer of ``module`` or fail saying why.

    Unlike ``mmengine.runner.load_checkpoint`` (``strict=False``), a
    checkpoint for another architecture is an error listing the missing,
    unexpected and wrongly shaped keys, never a silent partial load.

    Keys that differ only in a layout the model converts itself on load
    (its ``_load_from_state_dict``, e.g. mmpretrain's Swin renaming an old
    ``norm`` and dropping ``attn_mask`` buffers of zoo checkpoints) are
    accepted when torch's strict load, which runs those conversions, fills
    every parameter and buffer.
    """
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    shape = [
        f'{k} {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}'
        for k in own if k in state_dict and hasattr(state_dict[k], 'shape')
        and tuple(state_dict[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shape:
        lines = [f'The {what} does not match the model it is loaded into:']
        if missing:
            lines.append(f'  missing keys ({len(missing)}): '
                         f'{_summarise(missing)}')
        if unexpected:
            lines.append(f'  unexpected keys ({len(unexpected)}): '
                         f'{_summarise(unexpected)}')
        if shape:
            lines.append(f'  shape mismatch ({len(shape)}): '
                         f'{_summarise(shape, 4)}')
        lines.append('Check that the checkpoint was trained with the same '
                     'model config (depth, widths, num_classes); convert '
                     'foreign layouts with tools/model_converters/ first.')
        try:
            # The model's own conversions of older layouts (a copy: they
            # may delete keys); strict: anything left over still fails.
            module.load_state_dict(dict(state_dict), strict=True)
        except RuntimeError:
            raise CheckpointError('\n'.join(lines)) from None
        return
    module.load_state_dict(state_dict, strict=True)
