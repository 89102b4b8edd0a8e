"""Building a config's model the way MMEngine's Runner does."""
import copy
from typing import Any

from mmengine.registry import MODELS, DefaultScope
from torch import nn


def model_config(cfg: Any, **model_overrides) -> Any:
    """A copy of ``cfg.model`` as the Runner gives it to the registry: the
    config's top-level ``data_preprocessor`` merged in (unless the model
    sets its own), ``model_overrides`` set."""
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.update(model_overrides)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor',
                             copy.deepcopy(cfg.data_preprocessor))
    return model_cfg


def build_model(cfg: Any, **model_overrides) -> nn.Module:
    """The model of ``cfg``, built as ``Runner.from_cfg(cfg)`` builds it.

    The Runner gives the model the config's top-level ``data_preprocessor``
    (unless the model sets its own) and builds it from MMEngine's root
    ``MODELS`` registry in the config's ``default_scope``. Tests,
    benchmarks and analysis tools use this one helper, so what they measure
    is what a training run builds.

    Args:
        cfg (Config): A config (it is not modified).
        **model_overrides: Keys of ``cfg.model`` to set first, e.g.
            ``teacher_ckpt=None, allow_random_teacher=True``.
    """
    model_cfg = model_config(cfg, **model_overrides)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        return MODELS.build(model_cfg)
