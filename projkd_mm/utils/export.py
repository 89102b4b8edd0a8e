"""Turn a distillation checkpoint into a plain mmpretrain checkpoint."""
import os.path as osp
from typing import Callable, Dict, Optional

from projkd_mm.fileio import atomic_torch_save
from projkd_mm.utils.checkpoint import (
    STUDENT_PREFIX,
    CheckpointError,
    extract_state_dict,
    load_checkpoint_file,
    split_state_dict,
)


def export_submodel(src: str, dst: str,
                    prefix: Optional[str] = STUDENT_PREFIX,
                    check: Optional[Callable[[Dict], None]] = None) -> Dict:
    """Keep the weights under ``prefix`` (prefix removed) and save them.

    Args:
        src (str): A Runner checkpoint, e.g. of ``CheckedSingleTeacherDistill``
            (keys ``architecture.*``, ``teacher.*``, ``distiller.*``).
        dst (str): Output file, ``{'state_dict': ..., 'meta': ...}``; the
            layout ``mmpretrain``'s ``init_model``/``load_checkpoint`` read.
        prefix (str, optional): ``'architecture.'`` for the student,
            ``'teacher.'`` for the teacher; ``None`` keeps every weight
            (a plain classifier's checkpoint, stripped of optimizer state).
            A prefix without its trailing dot (``'architecture'``) means the
            same as with it.
        check (callable, optional): Called with the state dict before
            anything is written; an exception from it leaves ``dst`` as it
            was.

    Returns:
        dict: The saved state dict.
    """
    if osp.exists(dst) and osp.exists(src) and osp.samefile(src, dst):
        raise CheckpointError(
            f'The export would overwrite its source {src!r}: give another '
            'output file.')
    checkpoint = load_checkpoint_file(src, 'checkpoint to export')
    state_dict = extract_state_dict(checkpoint, f'checkpoint {src!r}')
    if prefix:
        state_dict = split_state_dict(state_dict, prefix)
        if not state_dict:
            raise CheckpointError(
                f'{src!r} has no weights under {prefix!r}; it is not a '
                'distillation checkpoint (for a plain classifier use '
                '--prefix none).')
    if check is not None:
        check(state_dict)
    meta = {}
    if isinstance(checkpoint.get('meta'), dict):
        meta = {k: v for k, v in checkpoint['meta'].items()
                if k in ('dataset_meta', 'epoch', 'iter', 'seed')}
    meta['exported_from'] = osp.abspath(src)
    atomic_torch_save({'state_dict': state_dict, 'meta': meta}, dst)
    return state_dict
