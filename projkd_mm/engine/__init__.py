"""Runner-side pieces: hooks registered in MMEngine's ``HOOKS`` and the
validation loop registered in its ``LOOPS``."""
from projkd_mm.engine import hooks  # noqa: F401
from projkd_mm.engine.hooks import RNGStateHook
from projkd_mm.engine.loops import FrozenTeacherDistillValLoop

__all__ = ['FrozenTeacherDistillValLoop', 'RNGStateHook']
