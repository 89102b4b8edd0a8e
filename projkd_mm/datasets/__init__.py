from projkd_mm.datasets.idx_files import (
                                          DEBIAN_FASHION_MNIST,
                                          DatasetFilesError,
                                          prepare_idx_dataset,
                                          write_idx_dataset,
)

__all__ = [
    'DEBIAN_FASHION_MNIST', 'DatasetFilesError', 'prepare_idx_dataset',
    'write_idx_dataset'
]
