from projkd_mm.engine.optimizers.checked_constructor import (
    CheckedOptimWrapperConstructor,
)

__all__ = ['CheckedOptimWrapperConstructor']
