"""Building a teacher cache: the work of ``tools/cache_teacher.py``.

The config's frozen teacher (its algorithm built as the Runner builds it,
so the same precision and layout) runs over every view of every training
image; what its recorders record is stored as described in
:mod:`projkd_mm.teacher_cache.store`. The build writes ``build.json``
(the fingerprint and how many images are done) after every block of
images, so a killed build resumes where it stopped; ``header.json`` is
written last.
"""
import json
import os
import os.path as osp
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

from projkd_mm.fileio import atomic_write
from projkd_mm.teacher_cache import (
    TeacherCacheError,
    load_source_images,
    pipeline_fingerprint,
    split_pipeline,
)
from projkd_mm.teacher_cache.store import (
    FORMAT,
    HEADER,
    VERSION,
    array_name,
    file_sha256,
    host_info,
    total_bytes,
    write_header,
)
from projkd_mm.teacher_cache.views import build_augmentation

BUILD = 'build.json'
STORAGE_DTYPES = {'fp16': np.float16, 'fp32': np.float32}


def record_structure(buffer: List, name: str) -> List[Dict]:
    """How each record of a recorder is made of batch-first tensors."""
    kinds = []
    for record in buffer:
        if isinstance(record, torch.Tensor):
            kinds.append(dict(type='tensor', shapes=[list(record.shape[1:])]))
        elif isinstance(record, (tuple, list)) and record and all(
                isinstance(r, torch.Tensor) for r in record):
            kinds.append(dict(type=type(record).__name__
                              if type(record) in (tuple, list) else 'tuple',
                              length=len(record),
                              shapes=[list(r.shape[1:]) for r in record]))
        else:
            raise TeacherCacheError(
                f'Teacher recorder {name!r} records a {type(record).__name__}'
                ': a cache stores tensors, or tuples/lists of tensors, with '
                'the batch first.')
    if not kinds:
        raise TeacherCacheError(
            f'Teacher recorder {name!r} recorded nothing in a forward pass '
            'of the teacher: its source is not called in mode "tensor".')
    return kinds


def _leaves(record) -> List[torch.Tensor]:
    return [record] if isinstance(record, torch.Tensor) else list(record)


def views_to_inputs(images: np.ndarray) -> List[torch.Tensor]:
    """A batch of HxW or HxWxC images as PackInputs makes each: CxHxW."""
    if images.ndim == 3:
        images = images[:, None]
    else:
        images = images.transpose(0, 3, 1, 2)
    return list(torch.from_numpy(np.ascontiguousarray(images)))


class _Teacher:
    """The config's algorithm, ready to record the teacher on a batch."""

    def __init__(self, cfg) -> None:
        from projkd_mm.utils.build import build_model, model_config
        model_cfg = model_config(cfg, teacher_cache=None)
        ckpt = model_cfg.get('teacher_ckpt')
        if not ckpt:
            raise TeacherCacheError(
                'The config has no model.teacher_ckpt: a cache of a random '
                'teacher is useless. Pass --cfg-options '
                'model.teacher_ckpt=/path/teacher.pth.')
        preprocessor = model_cfg.get('data_preprocessor') or {}
        if preprocessor.get('batch_augments'):
            raise TeacherCacheError(
                'The data preprocessor has batch_augments (e.g. Mixup, '
                'CutMix): they draw mixed views a cache cannot enumerate.')
        self.model = build_model(cfg, teacher_cache=None).eval()
        self.fingerprint = self.model.cache_fingerprint(ckpt, model_cfg)
        self.recorders = self.model.distiller.teacher_recorders.recorders

    @torch.no_grad()
    def __call__(self, images: List[torch.Tensor]) -> Dict[str, List]:
        data = self.model.data_preprocessor(dict(inputs=images),
                                            training=False)
        manager = self.model.distiller.teacher_recorders
        with manager:
            self.model.online_teacher(data['inputs'], None, 'tensor')
        return {name: list(r.data_buffer) for name, r in
                self.recorders.items()}


def _clear(out: str) -> None:
    """Remove the files a cache build wrote in ``out`` (nothing else)."""
    names = [HEADER, BUILD, HEADER + '.tmp', BUILD + '.tmp']
    for meta in (HEADER, BUILD):
        try:
            with open(osp.join(out, meta)) as f:
                names += [a['file'] for a in json.load(f).get('arrays', [])]
        except (OSError, ValueError, KeyError, TypeError):
            pass
    for name in names:
        path = osp.join(out, name)
        if osp.isfile(path) and osp.dirname(osp.abspath(path)) == \
                osp.abspath(out):
            os.remove(path)


class StoreWriter:
    """The arrays of a cache under construction, written through memory
    maps (``mode='w+'`` creates them, ``'r+'`` continues them).

    Args:
        out (str): The cache directory.
        records (dict): Per teacher recorder, what
            :func:`record_structure` found.
        num_images (int): Rows of every array.
        num_views (int): Columns (views) of every array.
        dtype (np.dtype): Storage dtype.
        mode (str): ``'w+'`` or ``'r+'``.
    """

    def __init__(self, out: str, records: Dict[str, List[Dict]],
                 num_images: int, num_views: int, dtype: np.dtype,
                 mode: str = 'w+') -> None:
        self.out, self.dtype = out, np.dtype(dtype)
        self.records = records
        self.entries = []
        for name, kinds in records.items():
            for record_idx, kind in enumerate(kinds):
                for i, shape in enumerate(kind['shapes']):
                    leaf = None if kind['type'] == 'tensor' else i
                    self.entries.append(dict(
                        file=array_name(name, record_idx, leaf),
                        shape=[num_images, num_views] + shape,
                        dtype=self.dtype.name))
        self.bytes = sum(int(np.prod(a['shape'])) * self.dtype.itemsize
                         for a in self.entries)
        self.mode = mode
        self.arrays: Dict[str, np.ndarray] = {}

    def open(self) -> None:
        os.makedirs(self.out, exist_ok=True)
        self.arrays = {a['file']: np.lib.format.open_memmap(
            osp.join(self.out, a['file']), mode=self.mode, dtype=self.dtype,
            shape=tuple(a['shape'])) for a in self.entries}

    def write(self, first: int, view: int, recorded: Dict[str, List],
              where: str = '') -> None:
        """Store what the recorders recorded for images ``first...`` in
        their view ``view``."""
        limit = np.finfo(self.dtype).max
        for name, buffer in recorded.items():
            for record_idx, record in enumerate(buffer):
                for i, value in enumerate(_leaves(record)):
                    leaf = None if isinstance(record, torch.Tensor) else i
                    value = value.float().numpy()
                    if not np.isfinite(value).all() or \
                            np.abs(value).max() > limit:
                        raise TeacherCacheError(
                            f'Teacher recorder {name!r} gives values that '
                            f'are not finite or beyond {self.dtype.name}\'s '
                            f'range (largest {np.abs(value).max()}){where}.'
                            ' Use --dtype fp32, or check the teacher '
                            'checkpoint.')
                    array = self.arrays[array_name(name, record_idx, leaf)]
                    array[first:first + len(value), view] = value

    def flush(self) -> None:
        for array in self.arrays.values():
            array.flush()

    def close(self) -> List[Dict]:
        """Flush, close, and return the array entries with their
        SHA-256."""
        self.flush()
        self.arrays = {}
        for a in self.entries:
            a['sha256'] = file_sha256(osp.join(self.out, a['file']))
        return self.entries


def build_cache(cfg, out: str, batch_size: int = 512,
                storage: str = 'fp16', max_size_gb: float = 8.0,
                overwrite: bool = False, command: Optional[str] = None,
                log: Callable[[str], None] = print,
                progress: bool = True) -> Dict:
    """Run the config's teacher over every view of every training image and
    store its recorders' outputs under ``out``.

    Returns:
        dict: ``images``, ``views``, ``bytes``, ``seconds`` (this call's),
        ``forwards_per_s`` and ``resumed_from`` (images already done).
    """
    if storage not in STORAGE_DTYPES:
        raise TeacherCacheError(
            f'Storage dtype must be one of {", ".join(STORAGE_DTYPES)}, got '
            f'{storage!r}.')
    if osp.exists(out) and not osp.isdir(out):
        raise TeacherCacheError(f'--out {out!r} is a file, not a directory.')
    if osp.isfile(osp.join(out, HEADER)) and not overwrite:
        raise TeacherCacheError(
            f'{out!r} already holds a teacher cache. Use it '
            f'(--cfg-options model.teacher_cache={out}), or pass '
            '--overwrite to build it again.')
    start = time.perf_counter()
    dataset_cfg = cfg.train_dataloader.dataset
    pipeline = dataset_cfg.get('pipeline', [])
    split_pipeline(pipeline)  # refuse what cannot be enumerated, first
    teacher = _Teacher(cfg)
    images, dataset = load_source_images(dataset_cfg)
    views = pipeline_fingerprint(pipeline, dataset['image_shape'])
    augmentation = build_augmentation(split_pipeline(pipeline)[1])
    num_images, num_views = len(images), views['views']['count']
    fingerprint = dict(teacher.fingerprint, dataset=dataset,
                       pipeline=views)

    probe = teacher(views_to_inputs(augmentation.render_views(images[:2], 0)))
    records = {name: record_structure(buffer, name)
               for name, buffer in probe.items()}
    writer = StoreWriter(out, records, num_images, num_views,
                         STORAGE_DTYPES[storage])
    arrays, size = writer.entries, writer.bytes
    per_view = size // (num_images * num_views)
    log(f'Teacher cache: {num_images} images x {num_views} views x '
        f'{per_view} bytes ({", ".join(a["file"] for a in arrays)}, '
        f'{storage}) = {size / 1e9:.3f} GB')
    if size > max_size_gb * 1e9:
        raise TeacherCacheError(
            f'The cache would take {size / 1e9:.2f} GB, over the '
            f'--max-size-gb budget of {max_size_gb:g} GB. Record fewer or '
            'smaller teacher outputs (e.g. the pooled feature instead of a '
            'feature map), or raise --max-size-gb if the disk has room.')

    build = dict(format=FORMAT, version=VERSION, fingerprint=fingerprint,
                 storage_dtype=writer.dtype.name, arrays=arrays, records={
                     name: [{k: v for k, v in kind.items() if k != 'shapes'}
                            for kind in kinds]
                     for name, kinds in records.items()})
    done = 0
    build_path = osp.join(out, BUILD)
    if overwrite:
        _clear(out)
    elif osp.isfile(build_path):
        try:
            with open(build_path) as f:
                earlier = json.load(f)
        except (OSError, ValueError) as e:
            raise TeacherCacheError(
                f'{build_path} cannot be read ({e}): pass --overwrite to '
                'start the build over.') from None
        same = {k: earlier.get(k) for k in build} == build
        if not same:
            raise TeacherCacheError(
                f'{out!r} holds an unfinished build for another config, '
                'teacher, dataset or storage dtype. Pass --overwrite to '
                'start over, or another --out.')
        done = int(earlier.get('done', 0))
        log(f'Resuming: {done} of {num_images} images done.')
    writer.mode = 'r+' if done else 'w+'
    writer.open()
    atomic_write(build_path, json.dumps(dict(build, done=done)))

    from mmengine.utils import ProgressBar
    bar = ProgressBar(num_images - done) if progress else None
    built = time.perf_counter()
    for first in range(done, num_images, batch_size):
        block = images[first:first + batch_size]
        for view in range(num_views):
            writer.write(first, view, teacher(views_to_inputs(
                augmentation.render_views(block, view))),
                f' on images {first}..{first + len(block) - 1}, view {view}')
        writer.flush()
        done = first + len(block)
        atomic_write(build_path, json.dumps(dict(build, done=done)))
        if bar is not None:
            bar.update(len(block))
    seconds_forward = time.perf_counter() - built
    if progress:
        log('')
    build['arrays'] = writer.close()
    seconds = time.perf_counter() - start
    header = dict(build, complete=True, num_images=num_images,
                  num_views=num_views, command=command,
                  teacher_run=dict(dtype=teacher.model.teacher_dtype,
                                   memory_format=(
                                       teacher.model.teacher_memory_format)),
                  host=host_info())
    write_header(out, header)
    os.remove(build_path)
    summary = dict(images=num_images, views=num_views,
                   bytes=total_bytes(out), seconds=seconds,
                   forwards_per_s=(num_images * num_views / seconds_forward
                                   if seconds_forward else float('nan')))
    return summary

