"""The on-disk teacher cache: a JSON header and one ``.npy`` array per
recorded tensor, read through memory maps.

Layout of a cache directory::

    header.json             what the outputs depend on, the arrays, the views
    <recorder>.r<record>.<leaf>.npy   (num_images, num_views, *feature_shape)

Row ``i`` of every array is image ``i`` of the full training dataset (its
``source_idx``), column ``v`` its view ``v`` (the number
``RandomPadCropFlip`` records). A later per-epoch replay of non-enumerable
augmentations can use the second axis for stored draws instead: the
header's ``views`` says which. No file holds a pickle: the arrays are
loaded with ``allow_pickle=False``.

``header.json`` is written last, atomically, once every array is complete;
a directory without it is a build in progress (``build.json``) and is
never read.
"""
import hashlib
import json
import os
import os.path as osp
import platform
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from projkd_mm.fileio import atomic_write
from projkd_mm.teacher_cache.errors import TeacherCacheError

FORMAT = 'projkd_mm.teacher_cache'
VERSION = 1
HEADER = 'header.json'
#: The fingerprint fields a run checks against its config: a difference is
#: an error. ``host`` and ``teacher_run`` are recorded and only warned on.
CHECKED_FIELDS = ('teacher_ckpt_sha256', 'teacher', 'data_preprocessor',
                  'recorders', 'dataset', 'pipeline')
#: Fields of ``dataset`` that identify the images (``data_root`` is where
#: they were read, recorded but not compared: the same files may move).
DATASET_IDENTITY = ('type', 'split', 'test_mode', 'size', 'image_shape',
                    'content_sha256')


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes."""
    with open(path, 'rb') as f:
        return hashlib.file_digest(f, 'sha256').hexdigest()


def cpu_name() -> str:
    """The CPU model, as /proc/cpuinfo names it."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def host_info() -> Dict:
    """The machine a cache was built on (recorded, not checked)."""
    from projkd_mm.models.algorithms.teacher_precision import (
        cpu_bf16_supported,
    )
    return dict(torch=torch.__version__, cpu=cpu_name(),
                cpu_native_bf16=cpu_bf16_supported(),
                cuda=(torch.cuda.get_device_name(0)
                      if torch.cuda.is_available() else None))


def array_name(recorder: str, record_idx: int, leaf: Optional[int]) -> str:
    """File name of one recorded tensor's array."""
    return (f'{recorder}.r{record_idx}' +
            ('' if leaf is None else f'.{leaf}') + '.npy')


def differing_fields(stored: Dict, expected: Dict,
                     fields: Sequence[str]) -> List[str]:
    """The fields (``dataset.content_sha256`` for a nested one) whose
    values differ."""
    out = []
    for field in fields:
        a, b = stored.get(field), expected.get(field)
        if field == 'dataset' and isinstance(a, dict) and isinstance(b, dict):
            out += [f'dataset.{k}' for k in DATASET_IDENTITY
                    if a.get(k) != b.get(k)]
        elif a != b:
            out.append(field)
    return out


def write_header(directory: str, header: Dict) -> None:
    """Write ``header.json`` atomically: the cache exists from then on."""
    atomic_write(osp.join(directory, HEADER),
                 json.dumps(header, indent=1, sort_keys=True))


class TeacherCacheStore:
    """A complete teacher cache, opened for reading.

    Opening checks the header and that every array is on disk with the
    shape and dtype the header gives (a truncated file does not open);
    :meth:`verify_checksums` checks the bytes. The arrays are memory
    mapped on first use, in the process that reads them (so a store can be
    deep-copied or sent to a worker before that).

    Args:
        directory (str): The cache directory (``tools/cache_teacher.py
            --out``).
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory
        path = osp.join(directory, HEADER)
        if not osp.isdir(directory):
            raise TeacherCacheError(
                f'model.teacher_cache={directory!r} is not a directory. '
                'Build the cache first: python tools/cache_teacher.py '
                f'CONFIG --out {directory}')
        if not osp.isfile(path):
            building = osp.isfile(osp.join(directory, 'build.json'))
            raise TeacherCacheError(
                f'{directory!r} holds no {HEADER}: ' +
                ('its build did not finish (build.json is there). Run the '
                 'same tools/cache_teacher.py command again: it resumes.'
                 if building else 'it is not a teacher cache. Build one: '
                 f'python tools/cache_teacher.py CONFIG --out {directory}'))
        try:
            with open(path) as f:
                header = json.load(f)
        except (OSError, ValueError) as e:
            raise TeacherCacheError(
                f'{path} cannot be read ({e}): the cache is damaged. Build '
                'it again (tools/cache_teacher.py ... --overwrite).') from e
        if not isinstance(header, dict) or header.get('format') != FORMAT:
            raise TeacherCacheError(f'{path} is not a projkd_mm teacher '
                                    'cache header.')
        if header.get('version') != VERSION:
            raise TeacherCacheError(
                f'{path}: cache format version {header.get("version")!r}, '
                f'this projkd_mm reads version {VERSION}. Build the cache '
                'again with this version (tools/cache_teacher.py ... '
                '--overwrite).')
        self.header = header
        self._arrays: Optional[Dict[str, np.ndarray]] = None
        for entry in header['arrays']:
            self._check_file(entry)

    def _check_file(self, entry: Dict) -> None:
        path = osp.join(self.directory, entry['file'])
        damaged = (f'Teacher cache file {path} is missing or damaged '
                   '({}). Build the cache again: ' + self.rebuild_command())
        if not osp.isfile(path):
            raise TeacherCacheError(damaged.format('not found'))
        try:
            array = np.load(path, mmap_mode='r', allow_pickle=False)
        except (OSError, ValueError) as e:
            raise TeacherCacheError(damaged.format(e)) from None
        if list(array.shape) != entry['shape'] or \
                str(array.dtype) != entry['dtype']:
            raise TeacherCacheError(damaged.format(
                f'holds {array.dtype} {list(array.shape)}, the header says '
                f'{entry["dtype"]} {entry["shape"]}'))
        del array

    def rebuild_command(self) -> str:
        """The command that built this cache, to build it again."""
        command = self.header.get('command') or \
            'python tools/cache_teacher.py CONFIG --out ' + self.directory
        return command + ('' if '--overwrite' in command else ' --overwrite')

    @property
    def fingerprint(self) -> Dict:
        return self.header['fingerprint']

    @property
    def num_images(self) -> int:
        return int(self.header['num_images'])

    @property
    def num_views(self) -> int:
        return int(self.header['num_views'])

    def verify_checksums(self) -> None:
        """Check every array's SHA-256 against the header."""
        for entry in self.header['arrays']:
            path = osp.join(self.directory, entry['file'])
            if file_sha256(path) != entry['sha256']:
                raise TeacherCacheError(
                    f'Teacher cache file {path} does not hold the bytes it '
                    'was written with (SHA-256 differs): the cache is '
                    'damaged. Build it again: ' + self.rebuild_command())

    def check(self, expected: Dict, fields: Sequence[str]) -> None:
        """Raise if a fingerprint field differs from ``expected``'s."""
        differ = differing_fields(self.fingerprint, expected, fields)
        if differ:
            raise TeacherCacheError(
                f'The teacher cache {self.directory!r} was built for another '
                f'{" and ".join(differ)} than this run\'s config has, so its '
                'outputs are not the ones the teacher would compute here. '
                'Build it again for this config: ' + self.rebuild_command() +
                ' (or train without model.teacher_cache).')

    def check_recorders(self, recorders: Dict) -> None:
        """Raise unless the cache holds every one of these teacher
        recorders, recorded from the same source (a cache may hold more:
        one cache serves a study's PEFD, KD and SRD rows)."""
        stored = self.fingerprint.get('recorders') or {}
        differ = [name for name, spec in (recorders or {}).items()
                  if stored.get(name) != spec]
        if differ:
            raise TeacherCacheError(
                f'The teacher cache {self.directory!r} holds no teacher '
                f'recorder {", ".join(map(repr, differ))} as this run\'s '
                f'config defines it (the cache holds '
                f'{", ".join(map(repr, stored)) or "none"}). Build it '
                'again from a config whose teacher recorders include these: '
                + self.rebuild_command())

    def arrays(self) -> Dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = {
                entry['file']: np.load(osp.join(self.directory,
                                                entry['file']),
                                       mmap_mode='r', allow_pickle=False)
                for entry in self.header['arrays']}
        return self._arrays

    def records(self, rows: np.ndarray, views: np.ndarray,
                device: torch.device,
                names: Optional[Sequence[str]] = None) -> Dict[str, List]:
        """What each teacher recorder (of ``names``, default all)
        recorded for these (image, view) pairs, rebuilt as the recorder
        held it (a tensor, or a tuple/list of tensors), in float32 on
        ``device``."""
        if rows.size and (rows.min() < 0 or rows.max() >= self.num_images):
            raise TeacherCacheError(
                f'Image index {int(rows.max())} is not in the teacher cache '
                f'{self.directory!r}, which holds {self.num_images} images: '
                'the run reads another dataset than the cache was built for. '
                'Build it again: ' + self.rebuild_command())
        if views.size and (views.min() < 0 or views.max() >= self.num_views):
            raise TeacherCacheError(
                f'View {int(views.max())} is not in the teacher cache '
                f'{self.directory!r}, which holds {self.num_views} views per '
                'image: the pipeline draws views the cache lacks. Build it '
                'again for this pipeline: ' + self.rebuild_command())
        arrays = self.arrays()
        out: Dict[str, List] = {}
        for name, spec in self.header['records'].items():
            if names is not None and name not in names:
                continue
            records = []
            for record_idx, kind in enumerate(spec):
                def leaf(i):
                    array = arrays[array_name(name, record_idx, i)]
                    return torch.from_numpy(
                        np.asarray(array[rows, views], dtype=np.float32)).to(
                            device)
                if kind['type'] == 'tensor':
                    records.append(leaf(None))
                else:
                    items = [leaf(i) for i in range(kind['length'])]
                    records.append(tuple(items) if kind['type'] == 'tuple'
                                   else items)
            out[name] = records
        return out

    def __getstate__(self) -> Dict:
        # Memory maps are opened again where the copy reads them.
        return dict(self.__dict__, _arrays=None)


def total_bytes(directory: str) -> int:
    """Bytes on disk of a cache directory's files."""
    return sum(osp.getsize(osp.join(directory, f))
               for f in os.listdir(directory)
               if osp.isfile(osp.join(directory, f)))
