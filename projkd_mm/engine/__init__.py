"""Runner-side pieces: hooks registered in MMEngine's ``HOOKS``, the
validation loop registered in its ``LOOPS``, the optimizer-wrapper
constructor in its ``OPTIM_WRAPPER_CONSTRUCTORS``, the Runner in its
``RUNNERS`` and the DDP wrapper of CPU runs with synchronised BatchNorm in
its ``MODEL_WRAPPERS``."""
from projkd_mm.engine import hooks  # noqa: F401
from projkd_mm.engine.hooks import RNGStateHook, TeacherCacheHook
from projkd_mm.engine.loops import FrozenTeacherDistillValLoop
from projkd_mm.engine.optimizers import CheckedOptimWrapperConstructor
from projkd_mm.engine.runner import SafeCheckpointRunner
from projkd_mm.engine.wrappers import CPUSyncBNDistributedDataParallel

__all__ = ['CheckedOptimWrapperConstructor',
           'CPUSyncBNDistributedDataParallel', 'FrozenTeacherDistillValLoop',
           'RNGStateHook', 'SafeCheckpointRunner', 'TeacherCacheHook']
