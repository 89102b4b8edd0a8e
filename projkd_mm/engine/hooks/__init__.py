from projkd_mm.engine.hooks.rng_state_hook import (
    RNGStateHook,
    get_rng_states,
    set_rng_states,
)
from projkd_mm.engine.hooks.teacher_cache_hook import TeacherCacheHook

__all__ = ['RNGStateHook', 'TeacherCacheHook', 'get_rng_states',
           'set_rng_states']
