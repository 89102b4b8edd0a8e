"""What a checkpoint is, and which config or tool fits it: the tools'
error messages for a checkpoint given to the wrong command.

Names this repository's scripts and configs (tools/export_student.py,
configs/projkd/...), which is why it lives with the tools and not in the
projkd_mm library.
"""
from typing import Mapping

from torch import nn

from projkd_mm.utils.safe_load import CheckpointError
from projkd_mm.utils.state_dict import load_state_dict_strict


def describe_checkpoint(state_dict: Mapping) -> str:
    """What kind of checkpoint a state dict looks like, in words."""
    prefixes = {key.split('.', 1)[0] for key in state_dict}
    if 'architecture' in prefixes and ('teacher' in prefixes
                                       or 'distiller' in prefixes):
        return ('a distillation checkpoint (architecture.* = student, '
                'teacher.*, distiller.*)')
    if prefixes & {'backbone', 'neck', 'head'}:
        return ('a plain classifier checkpoint (backbone.*, head.*), such '
                'as a teacher or a student exported by '
                'tools/export_student.py')
    return f'a checkpoint with top-level keys {sorted(prefixes)[:6]}'


def check_checkpoint_fits(model: nn.Module, state_dict: Mapping, path: str,
                          config: str) -> None:
    """Refuse to evaluate a model the checkpoint does not fully fill.

    Raises:
        CheckpointError: Naming what the checkpoint looks like and which
            config or tool fits it.
    """
    try:
        _check_same_keys(model, state_dict)
    except CheckpointError as err:
        own = describe_checkpoint(model.state_dict())
        kind = describe_checkpoint(state_dict)
        if kind.startswith('a distillation') and \
                not own.startswith('a distillation'):
            fix = ('Test it with the distillation config it was trained '
                   'with, or export the student first: python '
                   f'tools/export_student.py {path} student.pth --config '
                   f'{config}')
        elif own.startswith('a distillation') and \
                not kind.startswith('a distillation'):
            fix = ('Test it with the plain mmpretrain config of that model '
                   '(the student or teacher config, e.g. '
                   'configs/projkd/fashion_mnist/resnet8_10e_fmnist.py).')
        else:
            fix = ('It was trained with another model config: use that '
                   'config.')
        raise CheckpointError(
            f'The checkpoint {path!r} is {kind}, but {config} builds a '
            f'model expecting {own}; evaluating it would score random '
            f'weights. {fix}\n{err}') from None


def _check_same_keys(module: nn.Module, state_dict: Mapping) -> None:
    """``load_state_dict_strict``'s checks, without loading anything."""
    own = module.state_dict()
    bad = [k for k in own if k not in state_dict] + [
        k for k in state_dict if k not in own] + [
        k for k in own if k in state_dict
        and hasattr(state_dict[k], 'shape')
        and tuple(state_dict[k].shape) != tuple(own[k].shape)]
    if bad:
        load_state_dict_strict(module, state_dict, 'checkpoint')
