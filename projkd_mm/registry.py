"""The ``projkd_mm`` registry scope.

MMEngine builds everything a config takes from an external base
(``_base_ = ['projkd_mm::projkd/...py']``) in that package's scope: it sets
``_scope_='projkd_mm'`` on those dicts and imports ``projkd_mm.registry``
to find the registries of that scope. Each registry here is a child of
mmpretrain's, so a ``projkd_mm``-scoped type resolves exactly as in
mmpretrain's scope (mmpretrain's components, then MMEngine's). projkd_mm's
components stay registered where they belong (mmrazor's ``MODELS`` for the
algorithm, distiller, connector and loss; mmpretrain's for backbones and
datasets; MMEngine's for hooks, loops and the optimizer-wrapper
constructor), and the model dicts of the configs say ``_scope_='mmrazor'``
themselves. Nothing is registered in these registries directly.
"""
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry

_NAMES = ('RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS',
          'LOG_PROCESSORS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
          'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'DATASETS',
          'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS',
          'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'TASK_UTILS', 'METRICS',
          'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS')


def _child(name: str) -> Registry:
    parent = getattr(mmpretrain_registry, name)
    return Registry(parent.name, parent=parent, scope='projkd_mm',
                    locations=['projkd_mm'])


RUNNERS = _child('RUNNERS')
RUNNER_CONSTRUCTORS = _child('RUNNER_CONSTRUCTORS')
LOOPS = _child('LOOPS')
HOOKS = _child('HOOKS')
LOG_PROCESSORS = _child('LOG_PROCESSORS')
OPTIMIZERS = _child('OPTIMIZERS')
OPTIM_WRAPPERS = _child('OPTIM_WRAPPERS')
OPTIM_WRAPPER_CONSTRUCTORS = _child('OPTIM_WRAPPER_CONSTRUCTORS')
PARAM_SCHEDULERS = _child('PARAM_SCHEDULERS')
DATASETS = _child('DATASETS')
DATA_SAMPLERS = _child('DATA_SAMPLERS')
TRANSFORMS = _child('TRANSFORMS')
MODELS = _child('MODELS')
MODEL_WRAPPERS = _child('MODEL_WRAPPERS')
WEIGHT_INITIALIZERS = _child('WEIGHT_INITIALIZERS')
BATCH_AUGMENTS = _child('BATCH_AUGMENTS')
TASK_UTILS = _child('TASK_UTILS')
METRICS = _child('METRICS')
EVALUATORS = _child('EVALUATORS')
VISUALIZERS = _child('VISUALIZERS')
VISBACKENDS = _child('VISBACKENDS')

__all__ = list(_NAMES)
