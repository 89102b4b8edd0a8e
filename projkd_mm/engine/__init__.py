"""Runner-side pieces: hooks registered in MMEngine's ``HOOKS``, the
validation loop registered in its ``LOOPS``, the optimizer-wrapper
constructor in its ``OPTIM_WRAPPER_CONSTRUCTORS`` and the Runner in its
``RUNNERS``."""
from projkd_mm.engine import hooks  # noqa: F401
from projkd_mm.engine.hooks import RNGStateHook, TeacherCacheHook
from projkd_mm.engine.loops import FrozenTeacherDistillValLoop
from projkd_mm.engine.optimizers import CheckedOptimWrapperConstructor
from projkd_mm.engine.runner import SafeCheckpointRunner

__all__ = ['CheckedOptimWrapperConstructor', 'FrozenTeacherDistillValLoop',
           'RNGStateHook', 'SafeCheckpointRunner', 'TeacherCacheHook']
