"""Carry the random number generators across ``--resume``."""
import random
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def get_rng_states() -> Dict[str, Any]:
    """This process's Python, numpy, torch (and CUDA) generator states."""
    states = {
        'python': random.getstate(),
        'numpy': np.random.get_state(),
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: Dict[str, Any]) -> None:
    """Inverse of :func:`get_rng_states`."""
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    # Generator states are CPU byte tensors, whatever map_location said.
    torch.set_rng_state(states['torch'].cpu())
    cuda = states.get('cuda')
    if cuda is not None and torch.cuda.is_available() and \
            len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([state.cpu() for state in cuda])


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the random generators in checkpoints, restore them on resume.

    MMEngine 0.10.7 resumes the weights, optimizer, schedulers, message hub
    and the sampler's epoch (so the data order survives), but not the global
    Python / numpy / torch generators. Data augmentation draws from them
    (mmpretrain's ``RandomCrop`` and ``RandomFlip``, projkd_mm's
    ``RandomPadCropFlip``, use numpy's global generator in the main process
    when ``num_workers=0``), so a resumed run would crop and flip
    differently from an uninterrupted one. This hook
    stores every rank's generator states in the checkpoint under
    ``'rng_states'`` and puts them back before training goes on, so that a
    run killed and resumed with ``--resume`` ends with the same weights as
    one that never stopped (with ``randomness=dict(seed=..,
    deterministic=True)``).

    Two details make that exact:

    - **Validation is neutral to the generators.** The states are saved at
      the end of a training epoch, before validation runs; validation
      creates a dataloader iterator, which draws from torch's generator.
      The hook therefore restores the generators after every validation,
      so a run with validation trains exactly as one without it.
    - **Every rank's states are kept.** At the end of each training epoch
      the states of all ranks are gathered (one small collective per
      epoch) and rank ``r`` gets its own back on resume. A checkpoint saved
      in the middle of an epoch (``by_epoch=False``) holds rank 0's states
      only; every rank then restores those.

    Not covered: dataloader worker processes. With ``num_workers > 0`` and
    ``persistent_workers=True`` the workers' generators live in other
    processes and restart from MMEngine's per-worker seed after a resume;
    use ``persistent_workers=False`` (MMEngine then reseeds the workers
    identically every epoch) or ``num_workers=0`` for an exact resume.

    Enabled for every projkd_mm config in
    ``configs/_base_/projkd_runtime.py``:
    ``custom_hooks = [dict(type='RNGStateHook')]``.
    """

    # After the other hooks' before_train (so nothing draws after the
    # restore), before CheckpointHook (VERY_LOW) saves at the epoch end.
    priority = 'LOW'

    def __init__(self) -> None:
        self._resumed_states: Optional[List[Dict[str, Any]]] = None
        self._epoch_end_states: Optional[List[Dict[str, Any]]] = None
        self._epoch_end_iter = -1
        self._before_val: Optional[Dict[str, Any]] = None

    def after_train_epoch(self, runner) -> None:
        states = get_rng_states()
        _, world_size = get_dist_info()
        self._epoch_end_states = (all_gather_object(states)
                                  if world_size > 1 else [states])
        self._epoch_end_iter = runner.iter

    def before_val(self, runner) -> None:
        self._before_val = get_rng_states()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            set_rng_states(self._before_val)
            self._before_val = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._epoch_end_iter == runner.iter:
            # End of an epoch, or validation right after it (save_best).
            ranks = self._epoch_end_states
        else:
            ranks = [self._before_val or get_rng_states()]
        checkpoint['rng_states'] = dict(ranks=ranks)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # load_from: new training, fresh generators
        saved = checkpoint.get('rng_states')
        if saved is None:
            runner.logger.warning(
                'The checkpoint holds no random generator states (it was '
                'written without RNGStateHook): training goes on with '
                'freshly seeded generators, so data augmentation will not '
                'match an uninterrupted run.')
            return
        self._resumed_states = saved['ranks']

    def before_train(self, runner) -> None:
        if self._resumed_states is None:
            return
        rank, world_size = get_dist_info()
        ranks, self._resumed_states = self._resumed_states, None
        if len(ranks) != world_size:
            runner.logger.warning(
                f'The checkpoint holds random generator states of '
                f'{len(ranks)} rank(s), this run has {world_size}: every '
                'rank restores those of rank 0.')
        set_rng_states(ranks[rank] if len(ranks) == world_size else ranks[0])
        runner.logger.info('Restored the random generator states saved in '
                           'the checkpoint.')
