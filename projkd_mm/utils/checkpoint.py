"""Loading checkpoints without letting them run code.

Trust policy
------------
Every checkpoint projkd_mm reads (a teacher's weights, a Runner checkpoint to
resume from, a distillation checkpoint to export) is unpickled with
``torch.load(..., weights_only=True)``. That unpickler only rebuilds tensors,
containers and an explicit allowlist of types, so a planted ``__reduce__``
payload is refused instead of executed. The allowlist
(:func:`checkpoint_safe_globals`) holds the data-only types MMEngine writes
into its own checkpoints: ``HistoryBuffer`` of the message hub and numpy
arrays, scalars and dtypes, ``collections.Counter``; and, because a
``HistoryBuffer`` pickles its statistics methods as
``getattr(HistoryBuffer, 'mean')``, a ``getattr`` that answers only for
HistoryBuffer's own statistics methods (:func:`_history_buffer_getattr`) and
refuses every other lookup. Files that need anything else are refused with
an error saying which global was asked for; a user who trusts such a file
can re-save its state dict with plain tensors.
"""
import os.path as osp
import pickle
from collections import Counter, OrderedDict
from typing import Any, Dict, List, Mapping

import torch
from torch import nn


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to ``HistoryBuffer``'s statistics methods."""
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and isinstance(name, str) and \
            not name.startswith('_') and \
            callable(HistoryBuffer.__dict__.get(name)):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'Refusing getattr({obj!r}, {name!r}) while unpickling: only '
        'HistoryBuffer statistics methods may be looked up.')


def checkpoint_safe_globals() -> List[Any]:
    """The data-only types allowed in checkpoints besides torch's own."""
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    try:
        multiarray = np._core.multiarray  # numpy >= 2
    except AttributeError:  # pragma: no cover - numpy 1.x
        multiarray = np.core.multiarray
    allowed = [HistoryBuffer, multiarray._reconstruct, multiarray.scalar,
               np.ndarray, np.dtype, Counter,
               (_history_buffer_getattr, 'builtins.getattr'),
               (_history_buffer_getattr, '__builtin__.getattr')]
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [getattr(dtypes, name) for name in dir(dtypes)
                    if name.endswith('DType')]
    return allowed


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used as asked, with the reason."""


def load_checkpoint_file(path: str, what: str = 'checkpoint') -> Dict:
    """Read a local file or URL with the safe unpickler.

    Args:
        path (str): Local path or ``http(s)://`` URL (cached by torch.hub).
        what (str): How the error messages call the file, e.g. ``'teacher
            checkpoint (model.teacher_ckpt)'``.

    Returns:
        dict: The unpickled object.

    Raises:
        CheckpointError: Missing, truncated or corrupt file, or a file that
            asks to unpickle a global outside the allowlist.
    """
    if path.startswith(('http://', 'https://')):
        try:
            return torch.hub.load_state_dict_from_url(
                path, map_location='cpu', weights_only=True)
        except Exception as err:  # network, cache or unpickling failure
            raise CheckpointError(
                f'Could not load the {what} from {path}: {err}. Download it '
                'by hand and set the config key to the local file.') from err
    if not osp.isfile(path):
        raise CheckpointError(
            f'The {what} {path!r} does not exist. Check the path (in the '
            'config, --cfg-options or on the command line).')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:
        text = str(err)
        refused = next((line.strip() for line in text.splitlines()
                        if 'GLOBAL' in line), None)
        if refused:
            raise CheckpointError(
                f'Refusing to unpickle the {what} {path!r}: it asks for a '
                'Python global outside the allowlist of data-only types, and '
                'unpickling it could run arbitrary code. If you trust the '
                'file, load it yourself and re-save only its state dict '
                f'(tensors). Unpickler said: {refused}') from err
        detail = next((line.strip() for line in reversed(text.splitlines())
                       if line.strip() and 'torch.load' not in line), '')
        raise CheckpointError(
            f'The {what} {path!r} is truncated or corrupt '
            f'({type(err).__name__}: {detail or "no message"}). It may '
            'have been written by a process that died: use an earlier '
            'checkpoint or train again.') from err


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
        raise CheckpointError('\n'.join(lines))
    module.load_state_dict(state_dict, strict=True)
