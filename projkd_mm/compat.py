"""Every workaround for upstream breakage, in one place.

``import projkd_mm`` applies them once, before anything of mmrazor is
imported. Each entry names the upstream symptom it fixes and when it can go.
:func:`applied_patches` lists what was needed on this machine (shown by
``projkd_mm.print_env()``).

1. mmrazor 1.0.0 on torch >= 2.0: ``import mmrazor.models`` fails with
   "`torch>=1.13` is not installed properly, plz check." because torch renamed
   ``reverse2``/``reverse3``/``reverse_sequential_wrapper2`` in
   ``torch.ao.quantization.fuser_method_mappings`` to private names, stopped
   importing ``torch.ao.quantization.backend_config.utils`` eagerly and removed
   three private setters of ``BackendPatternConfig``. The names are restored
   here. mmrazor only uses them to declare quantisation backends, which
   distillation never calls. Can go once a mmrazor release after 1.0.0 (whose
   main branch no longer imports these names) is on PyPI.
2. torch >= 2.6 unpickles with ``weights_only=True`` by default and mmengine
   0.10.7 does not say otherwise, so resuming from a Runner checkpoint fails
   with "Unsupported global: ... mmengine.logging.history_buffer.HistoryBuffer"
   (the message hub and numpy scalars are pickled into every checkpoint).
   Those data-only types are added to torch's allowlist; nothing that can run
   code is. See :mod:`projkd_mm.utils.checkpoint` for the trust policy. Can go
   once mmengine registers its own safe globals.
3. mmrazor 1.0.0 imports ``joblib`` without declaring it: it is a dependency of
   this package (setup.py), nothing to patch at run time.
4. mmengine 0.10.7 cannot run distributed on CPU: ``_init_dist_pytorch``
   calls ``torch.cuda.set_device`` unconditionally ("Found no NVIDIA driver
   on your system") and the Runner wraps the model in DDP with
   ``device_ids=[LOCAL_RANK]``, which torch refuses for CPU modules. Without
   CUDA the device is not set and ``device_ids`` is dropped (tools/train.py
   also switches the backend to gloo). GPU runs are untouched. Still needed
   with mmengine 0.10.7 (the latest release when written).
5. Noise, not breakage: mmcv-lite warns at every import that it has no
   ``MultiScaleDeformableAttention`` (a detection op classification never
   uses), and mmengine 0.10.7 imports ``pkg_resources``, which setuptools
   deprecates with a warning. Both warnings are filtered by message. Can go
   with mmcv >= 2.2 / an mmengine that drops pkg_resources.
"""
import importlib
import warnings
from typing import List

warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

_APPLIED: List[str] = []


def _restore_torch_quantization_names() -> None:
    """Workaround 1: the names mmrazor 1.0.0 imports from torch.ao."""
    fmm = importlib.import_module(
        'torch.ao.quantization.fuser_method_mappings')
    if not hasattr(fmm, 'reverse2'):
        fmm.reverse2 = fmm._reverse2
        fmm.reverse3 = fmm._reverse3

        def reverse_sequential_wrapper2(sequential):
            """Fuser method building ``sequential(m2, m1)`` (torch 1.13)."""

            def fuser_method(is_qat, m1, m2):
                return sequential(m2, m1)

            return fuser_method

        fmm.reverse_sequential_wrapper2 = reverse_sequential_wrapper2
        _APPLIED.append('torch.ao.quantization.fuser_method_mappings names')

    # mmrazor reaches this submodule as an attribute of its parent package.
    importlib.import_module('torch.ao.quantization.backend_config.utils')

    from torch.ao.quantization.backend_config import BackendPatternConfig
    missing = [
        name for name in ('_set_overwrite_output_fake_quantize',
                          '_set_overwrite_output_observer',
                          '_set_input_output_observed')
        if not hasattr(BackendPatternConfig, name)
    ]
    for name in missing:
        attr = name[len('_set_'):]

        def setter(self, value, _attr=attr):
            setattr(self, '_' + _attr, value)
            return self

        setattr(BackendPatternConfig, name, setter)
    if missing:
        _APPLIED.append('BackendPatternConfig private setters')


def _allow_mmengine_checkpoint_types() -> None:
    """Workaround 2: the data-only types inside MMEngine checkpoints."""
    import torch
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return  # torch < 2.4 loads everything; nothing to allow
    from projkd_mm.utils.checkpoint import checkpoint_safe_globals
    torch.serialization.add_safe_globals(checkpoint_safe_globals())
    _APPLIED.append('torch.load allowlist for MMEngine checkpoints')


def _allow_cpu_distributed() -> None:
    """Workaround 4: torchrun/slurm launches on machines without CUDA."""
    import torch
    if torch.cuda.is_available():
        return
    import torch.distributed as torch_dist
    from mmengine.dist import utils as dist_utils
    from mmengine.model.wrappers import MMDistributedDataParallel

    original_init_pytorch = dist_utils._init_dist_pytorch

    def init_dist_pytorch_cpu(backend='gloo', init_backend='torch', **kwargs):
        if init_backend != 'torch':
            return original_init_pytorch(backend, init_backend, **kwargs)
        torch_dist.init_process_group(backend=backend, **kwargs)

    dist_utils._init_dist_pytorch = init_dist_pytorch_cpu

    original_ddp_init = MMDistributedDataParallel.__init__

    def ddp_init_cpu(self, module, detect_anomalous_params=False, **kwargs):
        kwargs.pop('device_ids', None)
        original_ddp_init(self, module, detect_anomalous_params, **kwargs)

    MMDistributedDataParallel.__init__ = ddp_init_cpu
    _APPLIED.append('mmengine distributed on CPU')


def apply() -> None:
    """Apply every workaround once; safe to call again."""
    if _APPLIED:
        return
    _restore_torch_quantization_names()
    _allow_mmengine_checkpoint_types()
    _allow_cpu_distributed()
    if not _APPLIED:
        _APPLIED.append('none')


def applied_patches() -> List[str]:
    """Names of the workarounds this environment needed."""
    return [p for p in _APPLIED if p != 'none']
