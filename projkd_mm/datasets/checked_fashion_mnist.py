"""mmpretrain's ``FashionMNIST`` with its idx files checked before use."""
import os.path as osp
import struct
from typing import Sequence

from mmpretrain.datasets import FashionMNIST
from mmpretrain.registry import DATASETS

from projkd_mm.datasets.idx_files import DatasetFilesError, check_idx_file


@DATASETS.register_module()
class CheckedFashionMNIST(FashionMNIST):
    """``FashionMNIST`` that refuses files it would misread.

    mmpretrain's reader asserts on a wrong magic number (a bare
    ``AssertionError``), fails with a reshape error on a truncated file,
    silently pairs 1,500 images with 1,400 labels, and lets labels outside
    the classes through to fail at the first step with an ``IndexError``.
    Here each of those is a :class:`DatasetFilesError` naming the file and
    what is wrong, raised when the dataset is built.

    Every sample also carries ``source_idx``, its index in the full file,
    whatever subset ``indices`` selects.

    Args:
        image_size (Sequence[int]): Expected ``(rows, cols)`` of every
            image. Defaults to ``(28, 28)``, Fashion-MNIST's.
        **kwargs: Passed to ``FashionMNIST``.
    """

    def __init__(self, *args, image_size: Sequence[int] = (28, 28),
                 **kwargs) -> None:
        self.image_size = tuple(image_size)
        indices = kwargs.get('indices')
        if indices is not None and not indices:  # 0 or an empty list
            raise ValueError(
                f'{type(self).__name__}: indices={indices!r} selects no '
                'images, so the dataset would be empty (a validation set '
                "without images ends the epoch in mmengine's \"need at "
                'least one array to concatenate"). Set indices to N > 0 '
                '(the first N images), -N (the last N), a non-empty list, '
                'or None (all).')
        super().__init__(*args, **kwargs)

    def load_data_list(self):
        root = self.data_prefix['root']
        files = self.test_list if self.test_mode else self.train_list
        images, labels = (osp.join(root, name.replace('.gz', ''))
                          for name, _ in files)
        if osp.isfile(images) and osp.isfile(labels):
            self._check_files(images, labels)
        data_list = super().load_data_list()
        # The image's place in its file, kept when ``indices`` takes a
        # subset (mmengine renumbers ``sample_idx`` from 0 in a subset): the
        # row of the image in a teacher cache (tools/cache_teacher.py).
        for source_idx, info in enumerate(data_list):
            info['source_idx'] = source_idx
        return data_list

    def _check_files(self, images: str, labels: str) -> None:
        n_images = check_idx_file(images, 2051)
        n_labels = check_idx_file(labels, 2049)
        if n_images != n_labels:
            raise DatasetFilesError(
                f'{images} holds {n_images} images but {labels} holds '
                f'{n_labels} labels: the two files do not belong together.')
        with open(images, 'rb') as f:
            rows, cols = struct.unpack('>II', f.read(16)[8:16])
        if (rows, cols) != self.image_size:
            raise DatasetFilesError(
                f'{images} holds {rows}x{cols} images, the dataset expects '
                f'{self.image_size[0]}x{self.image_size[1]} (image_size). '
                'Use the right files, or set image_size and a pipeline for '
                'that size.')
        num_classes = len(self.CLASSES)
        with open(labels, 'rb') as f:
            body = f.read()[8:]
        top = max(body, default=0)
        if top >= num_classes:
            raise DatasetFilesError(
                f'{labels} holds label {top}, but {type(self).__name__} has '
                f'{num_classes} classes (labels 0 to {num_classes - 1}): '
                'the file is not Fashion-MNIST or is corrupt.')
