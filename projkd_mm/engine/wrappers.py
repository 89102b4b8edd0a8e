"""The DDP wrapper of CPU runs with synchronised BatchNorm."""
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS
from torch import nn

from projkd_mm.models.layers import convert_cpu_sync_batchnorm


@MODEL_WRAPPERS.register_module()
class CPUSyncBNDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` whose BatchNorm layers are
    :class:`~projkd_mm.models.layers.CPUSyncBatchNorm`.

    With ``sync_bn='torch'`` the Runner converts every BatchNorm to torch's
    ``nn.SyncBatchNorm``, which runs on GPUs only and which DDP refuses in
    a CPU module. This wrapper converts them (and any plain BatchNorm) to
    ``CPUSyncBatchNorm``, keeping their parameters and buffers, before DDP
    wraps the model; torch itself is left as it is. tools/train.py selects
    it for distributed runs without CUDA that set ``sync_bn='torch'``
    (workaround ``cpu-sync-batchnorm`` of :mod:`projkd_mm.compat`); in
    another launcher's config::

        sync_bn = 'torch'
        model_wrapper_cfg = dict(type='CPUSyncBNDistributedDataParallel',
                                 device_ids=None)

    Registered in MMEngine's ``MODEL_WRAPPERS``, so any scope finds it.

    Args:
        module (nn.Module): The model to wrap, converted in place.
        **kwargs: ``MMDistributedDataParallel``'s arguments.
    """

    def __init__(self, module: nn.Module, **kwargs) -> None:
        super().__init__(module=convert_cpu_sync_batchnorm(module), **kwargs)
