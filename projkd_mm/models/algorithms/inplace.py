"""In-place activations off, on torch 2 as on torch 1."""
from collections import OrderedDict
from typing import Union

from torch import nn


def set_module_inplace_false(self, architecture: Union[OrderedDict,
                                                        nn.Module],
                             varstr: str = '') -> None:
    """Set ``inplace=False`` on every submodule of ``architecture`` that has
    a boolean ``inplace`` attribute (ReLU, Hardswish, Dropout, ...).

    The method of mmrazor 1.0.0's ``BaseAlgorithm`` of the same name, which
    only descends into ``OrderedDict`` children and so does nothing on
    torch >= 2.0, whose ``Module._modules`` is a plain ``dict``. A recorder
    on a module followed by an in-place op would otherwise record the
    modified tensor. Like upstream, a config dict (not yet a module) is left
    alone; ``self`` and ``varstr`` are kept for the upstream signature.
    """
    if not isinstance(architecture, nn.Module):
        return
    for module in architecture.modules():
        if isinstance(getattr(module, 'inplace', None), bool):
            module.inplace = False
