"""Find, check and unpack Fashion-MNIST-style idx files.

mmpretrain's ``MNIST``/``FashionMNIST`` datasets read four un-gzipped idx
files from ``data_root`` (``train-images-idx3-ubyte``, ...). The Debian
package ``dataset-fashion-mnist`` ships them gzipped under
``/usr/share/datasets/fashion-mnist/``. :func:`prepare_idx_dataset` turns
either into a folder mmpretrain can read, after checking every file's
header, so a truncated or foreign file fails here with its name rather than
deep inside a dataloader.
"""
import gzip
import os
import os.path as osp
import struct
import zlib
from typing import Dict, Iterable, List, Optional

import numpy as np

from projkd_mm.fileio import atomic_write

DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist'

IDX_FILES: Dict[str, int] = {  # file name -> magic number
    'train-images-idx3-ubyte': 2051,
    'train-labels-idx1-ubyte': 2049,
    't10k-images-idx3-ubyte': 2051,
    't10k-labels-idx1-ubyte': 2049,
}

HOW_TO_GET = (
    'Get Fashion-MNIST with `apt-get install dataset-fashion-mnist` '
    '(Debian/Ubuntu; files land in /usr/share/datasets/fashion-mnist), or '
    'download the four *-ubyte.gz files from the Fashion-MNIST GitHub '
    'repository (zalandoresearch/fashion-mnist, folder data/fashion) into a '
    'folder and pass it with --data-root.')


class DatasetFilesError(RuntimeError):
    """Dataset files that are missing or corrupt, with where we looked."""


#: How many times its own size a gzipped idx file may unpack to. Image and
#: label files compress 2-5x (Fashion-MNIST: 1.8x, MNIST: 4.7x); DEFLATE
#: itself allows ~1,000x, which only data such as zeros reaches.
MAX_GZIP_RATIO = 100
#: Errors of a damaged file: gzip's CRC/format errors are OSError or
#: EOFError, a broken deflate stream is zlib.error (neither).
_READ_ERRORS = (OSError, EOFError, zlib.error)
_CHUNK = 1 << 20


def _open(path: str):
    return gzip.open(path, 'rb') if path.endswith('.gz') else open(path, 'rb')


def _unreadable(path: str, err: Exception) -> DatasetFilesError:
    return DatasetFilesError(
        f'{path} cannot be read ({type(err).__name__}: {err}); the file is '
        f'corrupt. {HOW_TO_GET}')


def _body_length(f, most: int) -> int:
    """Bytes left in ``f``, counted in chunks up to ``most + 1``."""
    length = 0
    while length <= most:
        chunk = f.read(min(_CHUNK, most + 1 - length))
        if not chunk:
            break
        length += len(chunk)
    return length


def check_idx_file(path: str, magic: int) -> int:
    """Check an idx file's header and size; return its number of items.

    Nothing is read whole: a plain file's size is compared with its header,
    a gzipped one is first refused if its header promises more than
    ``MAX_GZIP_RATIO`` times the file's size, then its length is counted
    in chunks.
    """
    header_size = 16 if magic == 2051 else 8
    try:
        with _open(path) as f:
            header = f.read(header_size)
            if len(header) < 8 or struct.unpack('>I', header[:4])[0] != \
                    magic:
                raise DatasetFilesError(
                    f'{path} is not an idx file with magic number {magic}; '
                    f'the file is corrupt or not Fashion-MNIST. {HOW_TO_GET}')
            if len(header) < header_size:
                raise DatasetFilesError(
                    f'{path}: its header is {len(header)} bytes, an idx file '
                    f'with magic number {magic} has {header_size} (magic, '
                    'count, rows, columns): the file is truncated. '
                    f'{HOW_TO_GET}')
            count = struct.unpack('>I', header[4:8])[0]
            item = 1
            if magic == 2051:
                rows, cols = struct.unpack('>II', header[8:16])
                item = rows * cols
            expected = count * item
            if count == 0 or item == 0:
                raise DatasetFilesError(
                    f'{path} holds no items (its header says {count} items '
                    f'of {item} bytes): a dataset needs at least one. '
                    f'{HOW_TO_GET}')
            on_disk = os.path.getsize(path)
            if path.endswith('.gz'):
                if expected > MAX_GZIP_RATIO * on_disk:
                    raise DatasetFilesError(
                        f'{path}: its header promises {count:,} items, '
                        f'{expected:,} bytes, more than a gzip file of '
                        f'{on_disk:,} bytes holds ({MAX_GZIP_RATIO}x its '
                        'size at most; real images compress 2-5x). The file '
                        'is corrupt or made to exhaust memory; nothing was '
                        f'unpacked. {HOW_TO_GET}')
                length = _body_length(f, expected)
            else:
                length = on_disk - header_size
    except _READ_ERRORS as err:
        raise _unreadable(path, err) from err
    if length < expected:
        raise DatasetFilesError(
            f'{path} holds {length:,} bytes of data, its header promises '
            f'{expected:,}: the file is truncated. {HOW_TO_GET}')
    if length > expected:
        extra = ('more than' if path.endswith('.gz') else
                 f'{length - expected:,} byte{"s" * (length - expected > 1)}'
                 ' more than')
        raise DatasetFilesError(
            f'{path} holds {extra} its header promises ({expected:,} '
            f'bytes of data for {count:,} items): the file has trailing '
            'data, or its header is wrong. It is not a Fashion-MNIST file '
            f'as written. {HOW_TO_GET}')
    return count


def _find(folder: str, name: str) -> Optional[str]:
    for candidate in (osp.join(folder, name), osp.join(folder, name + '.gz')):
        if osp.isfile(candidate):
            return candidate
    return None


def prepare_idx_dataset(search: Iterable[str], out_dir: str) -> str:
    """Return a folder with the four checked, un-gzipped idx files.

    Args:
        search (Iterable[str]): Folders to look in, in order; each may hold
            the files plain or gzipped. The first folder holding all four
            wins.
        out_dir (str): Where gzipped files are unpacked. A folder that
            already holds all four plain files is returned as it is.

    Returns:
        str: A folder for mmpretrain's ``FashionMNIST(data_root=...)``.

    Raises:
        DatasetFilesError: No folder holds the four files, or one is corrupt.
    """
    looked: List[str] = []
    for folder in search:
        if not folder:
            continue
        found = {name: _find(folder, name) for name in IDX_FILES}
        if not all(found.values()):
            missing = [n for n, p in found.items() if p is None]
            looked.append(f'{folder} (missing {", ".join(missing)})')
            continue
        counts = {name: check_idx_file(path, IDX_FILES[name])
                  for name, path in found.items()}
        for split in ('train', 't10k'):
            images = counts[f'{split}-images-idx3-ubyte']
            labels = counts[f'{split}-labels-idx1-ubyte']
            if images != labels:
                raise DatasetFilesError(
                    f'{folder}: {split} has {images} images but {labels} '
                    f'labels. {HOW_TO_GET}')
        if all(not p.endswith('.gz') for p in found.values()):
            return folder
        os.makedirs(out_dir, exist_ok=True)
        for name, path in found.items():
            try:  # checked above: streams what its header promises
                with _open(path) as src:
                    atomic_write(osp.join(out_dir, name), src)
            except _READ_ERRORS as err:
                raise _unreadable(path, err) from err
        return out_dir
    raise DatasetFilesError(
        'Fashion-MNIST not found. Looked in: ' +
        ('; '.join(looked) or 'no folder given') + f'. {HOW_TO_GET}')


def write_idx_dataset(out_dir: str, train_images: np.ndarray,
                      train_labels: np.ndarray, test_images: np.ndarray,
                      test_labels: np.ndarray) -> str:
    """Write uint8 images ``(N, H, W)`` and labels ``(N,)`` as idx files.

    The layout mmpretrain's MNIST-style datasets read; used to turn small
    image sets (e.g. scikit-learn's digits) into a dataset for tests.
    """
    os.makedirs(out_dir, exist_ok=True)
    for split, images, labels in (('train', train_images, train_labels),
                                  ('t10k', test_images, test_labels)):
        images = np.ascontiguousarray(images, dtype=np.uint8)
        labels = np.ascontiguousarray(labels, dtype=np.uint8)
        with open(osp.join(out_dir, f'{split}-images-idx3-ubyte'), 'wb') as f:
            f.write(struct.pack('>IIII', 2051, *images.shape))
            f.write(images.tobytes())
        with open(osp.join(out_dir, f'{split}-labels-idx1-ubyte'), 'wb') as f:
            f.write(struct.pack('>II', 2049, len(labels)))
            f.write(labels.tobytes())
    return out_dir
