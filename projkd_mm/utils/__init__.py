from projkd_mm.utils.checkpoint import (
                                        CheckpointError,
                                        load_checkpoint_file,
                                        load_state_dict_strict,
)

__all__ = ['CheckpointError', 'load_checkpoint_file', 'load_state_dict_strict']
