"""MMEngine's default optimizer-wrapper constructor, with unknown optimizer
types named."""
import difflib

from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class CheckedOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` that names a misspelt optimizer.

    mmengine 0.10.7 passes the registry's ``None`` for an unknown
    ``optim_wrapper.optimizer.type`` to ``inspect.signature`` ("TypeError:
    None is not a callable object"). Selected in a config with
    ``optim_wrapper=dict(constructor='CheckedOptimWrapperConstructor')``,
    this raises a ``ValueError`` naming the type, the registry and the
    closest registered optimizers; everything else is the default.
    """

    def __call__(self, model):
        type_ = self.optimizer_cfg.get('type')
        if isinstance(type_, str):
            with OPTIMIZERS.switch_scope_and_registry(None) as registry:
                if registry.get(type_) is None:
                    names, scope = set(), registry
                    while scope is not None:
                        names.update(scope.module_dict)
                        scope = scope.parent
                    close = ', '.join(
                        map(repr, difflib.get_close_matches(type_, names, 3)))
                    raise ValueError(
                        f'optim_wrapper.optimizer.type={type_!r} is not in '
                        f'the {registry.scope}::optimizer registry. Closest '
                        f'optimizers: {close or "none"}.')
        return super().__call__(model)
