"""CheckedOptimWrapperConstructor: MMEngine's default optimizer-wrapper
constructor, with a misspelt optimizer type named.

The ``optimizer-type-typo`` row of docs/misconfigurations.md is tested here,
on the Fashion-MNIST distillation config that selects the constructor.
"""
import pytest
import torch
from conftest import PEFD_FMNIST
from mmengine.config import Config
from mmengine.optim import DefaultOptimWrapperConstructor, build_optim_wrapper
from mmengine.registry import DefaultScope
from torch import nn

from projkd_mm.engine.optimizers import CheckedOptimWrapperConstructor

# The rows of docs/misconfigurations.md tested in this file
# (test_misconfigurations.py checks that the table lists them).
DOCUMENTED_CASES = ['optimizer-type-typo']


def build_optimizer(model, optim_wrapper, scope='mmpretrain'):
    """The optimizer wrapper, built as the Runner builds it."""
    with DefaultScope.overwrite_default_scope(scope):
        return build_optim_wrapper(model, optim_wrapper)


def linear_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))


def test_a_misspelt_optimizer_type_is_named_with_the_closest_optimizers(
        teacher_ckpt):
    """``optimizer-type-typo``: MMEngine's default constructor says "None
    is not a callable object"."""
    from mmrazor.registry import MODELS
    cfg = Config.fromfile(PEFD_FMNIST)
    cfg.model.teacher_ckpt = teacher_ckpt
    cfg.model.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(cfg.model)
    cfg.optim_wrapper.optimizer.update(type='SDG')
    with pytest.raises(ValueError) as info:
        build_optimizer(model, cfg.optim_wrapper, cfg.default_scope)
    assert type(info.value) is ValueError
    assert ("optim_wrapper.optimizer.type='SDG' is not in the "
            "mmpretrain::optimizer registry. Closest optimizers: 'SGD'"
            ) in str(info.value)


def test_a_type_close_to_no_optimizer_says_none():
    optim_wrapper = dict(constructor='CheckedOptimWrapperConstructor',
                         optimizer=dict(type='Qwertyuiop', lr=0.1))
    with pytest.raises(ValueError, match=r"type='Qwertyuiop' is not in the "
                       r'mmpretrain::optimizer registry\. Closest '
                       r'optimizers: none\.'):
        build_optimizer(linear_model(), optim_wrapper)


@pytest.mark.parametrize('optimizer', [
    dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
    dict(type=torch.optim.AdamW, lr=1e-3, weight_decay=0.05),  # a class
])
def test_a_known_optimizer_is_built_as_the_default_constructor_builds_it(
        optimizer):
    paramwise_cfg = dict(norm_decay_mult=0.0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        checked = CheckedOptimWrapperConstructor(
            dict(optimizer=optimizer), paramwise_cfg)(linear_model())
        default = DefaultOptimWrapperConstructor(
            dict(optimizer=optimizer), paramwise_cfg)(linear_model())
    assert type(checked.optimizer) is type(default.optimizer)
    assert checked.optimizer.defaults == default.optimizer.defaults
    assert [{k: v for k, v in group.items() if k != 'params'}
            for group in checked.optimizer.param_groups] == [
        {k: v for k, v in group.items() if k != 'params'}
        for group in default.optimizer.param_groups]
