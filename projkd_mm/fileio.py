"""Atomic file writes: the one helper, and the storage backend configs
select for checkpoints.

A file written through :func:`atomic_write` exists under its name only once
it is complete: the bytes go to ``<path>.tmp``, are flushed to disk, and the
temporary file is renamed over ``path`` (``os.replace``, atomic on POSIX).
A write that fails removes its ``.tmp`` file; a process killed mid-write
leaves at most a ``.tmp`` file, never a truncated file under the real name.
"""
import io
import os
import os.path as osp
import shutil
from typing import IO, Any, Union

from mmengine.fileio.backends import LocalBackend, register_backend


def atomic_write(path: Union[str, os.PathLike],
                 data: Union[bytes, str, IO[bytes]]) -> None:
    """Write ``data`` (bytes, text as UTF-8, or what a binary file object
    reads, copied in chunks) to ``path`` atomically."""
    path = os.fspath(path)
    if isinstance(data, str):
        data = data.encode('utf-8')
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path + '.tmp'
    try:
        with open(tmp, 'wb') as f:
            if isinstance(data, (bytes, bytearray, memoryview)):
                f.write(data)
            else:
                shutil.copyfileobj(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        # A failed write (disk full, ``path`` a directory, interrupted)
        # leaves nothing behind, not even the temporary file.
        if osp.isfile(tmp):
            os.remove(tmp)
        raise


def atomic_torch_save(obj: Any, path: Union[str, os.PathLike]) -> None:
    """``torch.save(obj, path)`` through :func:`atomic_write`."""
    import torch
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, buffer.getvalue())


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """MMEngine's local storage backend, writing through
    :func:`atomic_write`.

    mmengine 0.10.7's ``LocalBackend.put`` opens the final name with
    ``'wb'``, so a run killed while saving ``epoch_N.pth`` leaves a
    truncated checkpoint that ``--resume`` takes. Selected per writer, e.g.
    for checkpoints (the project's configs do this)::

        default_hooks = dict(checkpoint=dict(
            backend_args=dict(backend='atomic_local')))

    ``CheckpointHook`` writes ``last_checkpoint`` after the checkpoint,
    through the same backend, so it only ever names complete files. Reads
    and every other writer are mmengine's.
    """

    def put(self, obj: bytes, filepath) -> None:
        atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write(filepath, obj.encode(encoding))
