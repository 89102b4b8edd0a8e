from projkd_mm.datasets.checked_fashion_mnist import CheckedFashionMNIST
from projkd_mm.datasets.idx_files import (
                                          DEBIAN_FASHION_MNIST,
                                          DatasetFilesError,
                                          prepare_idx_dataset,
                                          write_idx_dataset,
)
from projkd_mm.datasets.random_pad_crop_flip import RandomPadCropFlip

__all__ = [
    'CheckedFashionMNIST', 'RandomPadCropFlip',
    'DEBIAN_FASHION_MNIST', 'DatasetFilesError', 'prepare_idx_dataset',
    'write_idx_dataset'
]
