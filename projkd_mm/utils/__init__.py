from projkd_mm.utils.safe_load import CheckpointError, load_checkpoint_file
from projkd_mm.utils.state_dict import (
           load_state_dict_strict,
           load_weights_strict,
           split_state_dict,
)

__all__ = ['CheckpointError', 'load_checkpoint_file', 'load_state_dict_strict',
           'load_weights_strict', 'split_state_dict']
