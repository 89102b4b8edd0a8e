"""Where the teacher's outputs come from: its forward pass, or a cache.

The distillation algorithm records the teacher, then the student, through
their recorders (``CheckedSingleTeacherDistill.record``). What fills the
teacher's recorders is one of these two callables, with one signature:

- :class:`OnlineTeacher` runs the teacher's forward in its own precision,
  layout and (optionally) compiled, and hands its records on as float32.
- :class:`CachedTeacher` runs nothing: it fills the recorders from a
  teacher cache (``tools/cache_teacher.py``) at each sample's image and
  view, as float32.
"""
from collections import deque
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from torch import nn

from projkd_mm.models.algorithms.teacher_precision import TEACHER_DTYPES
from projkd_mm.teacher_cache import TeacherCacheError, TeacherCacheStore


def to_fp32(data: Any) -> Any:
    """``data`` with every low-precision floating tensor in it as float32."""
    if isinstance(data, torch.Tensor):
        return (data.float() if data.is_floating_point()
                and data.dtype != torch.float32 else data)
    if isinstance(data, tuple) and hasattr(data, '_fields'):  # namedtuple
        return type(data)(*(to_fp32(d) for d in data))
    if isinstance(data, (tuple, list)):
        return type(data)(to_fp32(d) for d in data)
    if isinstance(data, dict):
        return type(data)((k, to_fp32(v)) for k, v in data.items())
    return data


class OnlineTeacher:
    """The teacher's forward, in its own precision and layout.

    Runs under ``torch.no_grad()`` (unless the teacher is trainable) and
    ``torch.autocast(dtype=...)`` (``'fp32'``: autocast off, whatever
    surrounds it), with 4-d inputs in channels-last when asked; afterwards
    everything the teacher's recorders and the deliveries hold is float32.

    Args:
        teacher (nn.Module): The teacher.
        distiller: The distiller whose teacher recorders and deliveries the
            forward fills.
        dtype (str): ``'fp32'``, ``'bf16'`` or ``'fp16'`` (resolved).
        memory_format (str): ``'contiguous'`` or ``'channels_last'``.
        compile (bool): Run the forward through ``torch.compile``.
        trainable (bool): Keep gradients (a trainable teacher).
    """

    def __init__(self, teacher: nn.Module, distiller, dtype: str,
                 memory_format: str, compile: bool, trainable: bool) -> None:
        self.teacher = teacher
        self.distiller = distiller
        self.dtype = dtype
        self.memory_format = memory_format
        self.compile = compile
        self.trainable = trainable
        #: The compiled forward, made at the first call when ``compile``.
        self.compiled_forward = None

    def __getstate__(self) -> dict:
        # A compiled function does not deep-copy (e.g. for EMA): the copy
        # compiles its own at its first teacher forward.
        return dict(self.__dict__, compiled_forward=None)

    def __call__(self, batch_inputs: torch.Tensor,
                 data_samples: Optional[List], mode: str) -> Any:
        if self.memory_format == 'channels_last' and \
                isinstance(batch_inputs, torch.Tensor) and \
                batch_inputs.dim() == 4:
            batch_inputs = batch_inputs.contiguous(
                memory_format=torch.channels_last)
        forward = self.teacher
        if self.compile:
            if self.compiled_forward is None:
                self.compiled_forward = torch.compile(self.teacher.forward)
            forward = self.compiled_forward
        device = (batch_inputs.device.type
                  if isinstance(batch_inputs, torch.Tensor) else
                  next(self.teacher.parameters()).device.type)
        if self.dtype == 'fp32':
            precision = torch.autocast(device_type=device, enabled=False)
        else:
            precision = torch.autocast(device_type=device,
                                       dtype=TEACHER_DTYPES[self.dtype])
        with precision:
            if self.trainable:
                out = forward(batch_inputs, data_samples, mode=mode)
            else:
                with torch.no_grad():
                    out = forward(batch_inputs, data_samples, mode=mode)
        self._records_to_fp32()
        return out

    def _records_to_fp32(self) -> None:
        for recorder in self.distiller.teacher_recorders.recorders.values():
            buffer = recorder.data_buffer
            buffer[:] = [to_fp32(record) for record in buffer]
        for delivery in self.distiller.deliveries.deliveries.values():
            queue = getattr(delivery, 'data_queue', None)
            if isinstance(queue, deque):
                records = [to_fp32(record) for record in queue]
                queue.clear()
                queue.extend(records)


class CachedTeacher:
    """The teacher's recorded outputs read from a teacher cache.

    Each sample names its row by its metainfo: ``index_key``
    (``source_idx``, its index in the full dataset, or ``sample_idx`` for a
    dataset read whole) and ``view`` (``RandomPadCropFlip``'s draw). The
    recorders then hold what they would after the teacher's forward on
    those views, to the cache's storage precision, as float32. Nothing
    reads the cache before :meth:`check_data` has compared its dataset and
    pipeline with the run's (``TeacherCacheHook``, before training).

    Args:
        store (TeacherCacheStore): The opened cache.
        distiller: The distiller whose teacher recorders are filled.
    """

    def __init__(self, store: TeacherCacheStore, distiller) -> None:
        self.store = store
        self.distiller = distiller
        #: The metainfo key of a sample's row, once the data are checked.
        self.index_key: Optional[str] = None

    def check_data(self, dataset: Dict, pipeline: Dict,
                   index_key: str) -> None:
        """Compare the run's training data with the cache's; from then on
        the cache serves the run."""
        self.store.check(dict(dataset=dataset, pipeline=pipeline),
                         ('dataset', 'pipeline'))
        self.index_key = index_key

    def _keys(self, data_samples: Optional[List]) -> List[np.ndarray]:
        if self.index_key is None:
            raise TeacherCacheError(
                'model.teacher_cache is set, but nothing has checked the '
                'training data against the cache: the TeacherCacheHook does '
                'that before training. Add custom_hooks=[dict('
                "type='TeacherCacheHook')] to the config (projkd_mm's "
                "configs have it from _base_/projkd_runtime.py).")
        if not data_samples:
            raise TeacherCacheError('A cached teacher needs the data samples '
                                    '(their image index and view).')
        keys = []
        for key in (self.index_key, 'view'):
            # getattr, not .metainfo (which copies every field per call).
            values = [getattr(s, key, None) for s in data_samples]
            if any(v is None for v in values):
                raise TeacherCacheError(
                    f'A training sample carries no {key!r} in its metainfo, '
                    'so its row of the teacher cache is unknown. Keep it: '
                    "dict(type='PackInputs', meta_keys=(..., "
                    f"'{self.index_key}', 'view')) ends the training "
                    'pipeline.')
            keys.append(np.asarray(values, dtype=np.int64))
        return keys

    def __call__(self, batch_inputs: torch.Tensor,
                 data_samples: Optional[List], mode: str) -> Dict:
        rows, views = self._keys(data_samples)
        recorders = self.distiller.teacher_recorders.recorders
        records = self.store.records(rows, views, batch_inputs.device,
                                     names=list(recorders))
        for name, recorder in recorders.items():
            recorder.reset_data_buffer()
            recorder.data_buffer.extend(records[name])
        return {}
