from projkd_mm.models.layers.cpu_sync_batchnorm import (
    CPUSyncBatchNorm,
    convert_cpu_sync_batchnorm,
)

__all__ = ['CPUSyncBatchNorm', 'convert_cpu_sync_batchnorm']
