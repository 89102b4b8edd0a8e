"""Runner-side pieces: hooks registered in MMEngine's ``HOOKS``."""
from projkd_mm.engine import hooks  # noqa: F401
from projkd_mm.engine.hooks import RNGStateHook

__all__ = ['RNGStateHook']
