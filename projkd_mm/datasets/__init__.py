from projkd_mm.datasets.checked_fashion_mnist import CheckedFashionMNIST
from projkd_mm.datasets.idx_files import (
                                          DEBIAN_FASHION_MNIST,
                                          DatasetFilesError,
                                          prepare_idx_dataset,
                                          write_idx_dataset,
)

__all__ = [
    'CheckedFashionMNIST',
    'DEBIAN_FASHION_MNIST', 'DatasetFilesError', 'prepare_idx_dataset',
    'write_idx_dataset'
]
