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
   Nothing is added to torch's allowlist for the process: MMEngine's loaders
   are pointed at our safe loader instead (see 7), which maps those names to
   safe constructors for the duration of one ``torch.load``. See
   :mod:`projkd_mm.utils.checkpoint` for the trust policy. Can go once
   mmengine loads its own checkpoints safely.
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
6. mmengine 0.10.7 writes checkpoints in place (``LocalBackend.put`` opens
   the final name with ``'wb'``): a process killed or preempted while
   writing ``epoch_N.pth`` leaves a truncated file under the real name, and
   ``--resume`` from it later fails. Local files are now written to
   ``<name>.tmp``, flushed to disk and renamed over ``<name>`` with
   ``os.replace`` (atomic on POSIX), so a checkpoint file exists only when
   complete; ``CheckpointHook`` writes ``last_checkpoint`` after the save
   returns, so it only ever names complete files. A leftover ``*.tmp`` is an
   interrupted write and can be deleted. Still needed with mmengine 0.10.7.
7. mmengine 0.10.7 loads checkpoints (``--resume``, ``load_from``,
   ``init_cfg=dict(type='Pretrained')``) with a bare ``torch.load``: a
   truncated file fails with "PytorchStreamReader failed reading zip
   archive: failed finding central directory", which names no file; under
   ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` that load unpickles anything;
   and ``Runner.resume`` executes ``meta['config']`` of the file. Local
   files and ``http(s)://`` URLs now go through
   :func:`projkd_mm.utils.checkpoint.load_checkpoint_file` (pre-scanned,
   safe constructors, code-carrying keys dropped; its ``CheckpointError``
   names the file and says whether it is unsafe or damaged). mmengine's
   other schemes (``torchvision://``, ``open-mmlab://``, ``s3://``, ...)
   keep mmengine's loader but are refused while
   ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is set, and their result is made
   inert the same way. Files are read onto the CPU; the Runner moves
   weights and optimizer state to the model's device as it loads them. Can
   go once mmengine loads checkpoints with ``weights_only=True`` and
   reports the file it failed to read.
8. torch's ``SyncBatchNorm`` only runs on GPUs ("SyncBatchNorm expected input
   tensor to be on GPU or XPU"), so a config with ``sync_bn='torch'`` cannot
   run as CPU processes (tools/dist_train.sh on a machine without GPUs),
   and ``DistributedDataParallel`` refuses CPU modules holding one
   ("SyncBatchNorm layers only work with GPU modules"). Without CUDA, a
   distributed ``SyncBatchNorm`` in training mode on CPU tensors computes
   the batch mean and variance over all ranks with differentiable
   all-reduces (``torch.distributed.nn``), which is what the GPU kernel
   computes, and DDP's refusal is skipped for CPU modules; everything else
   keeps torch's own code. Needed as long as torch has no CPU SyncBatchNorm.
9. mmrazor 1.0.0's recorders report config mistakes with bare ``assert``
   statements, which vanish under ``python -O`` (the run then fails later,
   deep inside a loss) and say little: a ``source`` that names no submodule
   gives '"neck.gapp" is not in the model.' (which model? what names?), an
   out-of-range ``record_idx``/``data_idx`` gives "data_idx is illegal"
   without the recorder. Module and parameter recorders now raise a
   ``ValueError`` with the closest names of the model they record, and
   ``get_record_data`` an ``IndexError``/``TypeError`` naming the source,
   what it recorded and the values allowed. Can go once mmrazor raises
   real errors.
10. mmengine 0.10.7's ``DefaultOptimWrapperConstructor`` looks the optimizer
    type up and passes the result straight to ``inspect.signature``, so a
    misspelt ``optim_wrapper.optimizer.type`` fails with "TypeError: None is
    not a callable object". An unknown type is now a ``ValueError`` naming it
    and the closest registered optimizers. Still needed with mmengine
    0.10.7.
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


def _write_checkpoints_atomically() -> None:
    """Workaround 6: a checkpoint file appears only once it is complete."""
    import os

    import mmengine
    from mmengine.fileio.backends.local_backend import LocalBackend

    def put_atomically(self, obj: bytes, filepath) -> None:
        """``LocalBackend.put`` through ``<filepath>.tmp`` and a rename."""
        filepath = str(filepath)
        mmengine.mkdir_or_exist(os.path.dirname(filepath))
        tmp_path = filepath + '.tmp'
        with open(tmp_path, 'wb') as f:
            f.write(obj)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, filepath)

    LocalBackend.put = put_atomically
    _APPLIED.append('atomic checkpoint writes')


def _load_checkpoints_safely() -> None:
    """Workarounds 2 and 7: every scheme under the trust policy."""
    import os
    import os.path as osp

    from mmengine.runner.checkpoint import CheckpointLoader

    from projkd_mm.utils import checkpoint as safe

    def load_local_or_url(filename: str, map_location=None, **kwargs):
        """mmengine's local-file/URL loader, through the safe loader."""
        return safe.load_checkpoint_file(osp.expanduser(filename),
                                         'checkpoint')

    def guarded(prefix: str, loader):

        def load(filename: str, map_location=None, **kwargs):
            flag = os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '0')
            if flag.lower() in ('1', 'y', 'yes', 'true'):
                raise safe.UnsafeCheckpointError(
                    f'Refusing to load {filename!r}: mmengine loads '
                    f'{prefix!r} checkpoints with torch.load defaults, and '
                    'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set, which makes '
                    'that load unpickle arbitrary code. Unset it, or fetch '
                    'the file and give its local path.')
            return safe._inert(loader(filename, map_location, **kwargs))

        return load

    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if prefix not in ('', 'http://', 'https://'):
            CheckpointLoader.register_scheme(
                prefixes=prefix, loader=guarded(prefix, loader), force=True)
    CheckpointLoader.register_scheme(
        prefixes=('', 'http://', 'https://'), loader=load_local_or_url,
        force=True)
    _APPLIED.append('checkpoint loads under the trust policy')


def _sync_batchnorm_on_cpu() -> None:
    """Workaround 8: ``sync_bn='torch'`` in CPU distributed training."""
    import torch
    if torch.cuda.is_available():
        return
    import torch.distributed as torch_dist
    from torch import nn
    from torch.distributed.nn.functional import all_reduce

    torch_forward = nn.SyncBatchNorm.forward

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        group = self.process_group or torch_dist.group.WORLD
        if (input.device.type != 'cpu' or not self.training
                or not torch_dist.is_initialized()
                or torch_dist.get_world_size(group) == 1):
            return torch_forward(self, input)
        self._check_input_dim(input)
        momentum = self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked)
        dims = [0] + list(range(2, input.dim()))
        shape = [1, -1] + [1] * (input.dim() - 2)
        count = all_reduce(
            input.new_tensor(float(input.numel() // input.shape[1])),
            group=group)
        # Two passes (mean, then centred squares): as exact as one process.
        mean = all_reduce(input.sum(dims), group=group) / count
        centred = input - mean.view(shape)
        var = all_reduce(centred.pow(2).sum(dims), group=group) / count
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach(), momentum)
                self.running_var.lerp_(
                    var.detach() * count / (count - 1), momentum)
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out

    nn.SyncBatchNorm.forward = forward

    ddp_check = nn.parallel.DistributedDataParallel.\
        _passing_sync_batchnorm_handle

    def passing_sync_batchnorm_handle(self, module: nn.Module) -> None:
        if self.device_type != 'cpu':
            ddp_check(self, module)

    nn.parallel.DistributedDataParallel._passing_sync_batchnorm_handle = \
        passing_sync_batchnorm_handle
    _APPLIED.append('SyncBatchNorm on CPU')


def _explain_recorder_errors() -> None:
    """Workaround 9: recorder mistakes explained, not asserted."""
    import difflib

    from mmrazor.models.task_modules.recorder import (
        ModuleOutputsRecorder,
        ParameterRecorder,
    )
    from mmrazor.models.task_modules.recorder.base_recorder import (
        BaseRecorder,
    )
    from torch import nn

    def checked(prepare_from_model, named):

        def prepare(self, model=None) -> None:
            if model is not None:
                names = [name for name, _ in named(model)]
                if self.source not in names:
                    close = difflib.get_close_matches(self.source, names, 5)
                    raise ValueError(
                        f'{type(self).__name__}: source {self.source!r} is '
                        f'not a {named.__name__[len("named_"):-1]} of the '
                        f'{type(model).__name__} it records. Closest names: '
                        f'{", ".join(map(repr, close)) or "none"}. Fix '
                        'model.distiller.student_recorders / '
                        'teacher_recorders.<name>.source (all names: '
                        f'[n for n, _ in model.{named.__name__}()]).')
            prepare_from_model(self, model)

        return prepare

    ModuleOutputsRecorder.prepare_from_model = checked(
        ModuleOutputsRecorder.prepare_from_model, nn.Module.named_modules)
    ParameterRecorder.prepare_from_model = checked(
        ParameterRecorder.prepare_from_model, nn.Module.named_parameters)

    get_record_data = BaseRecorder.get_record_data

    def get_checked_record_data(self, record_idx: int = 0, data_idx=None):
        where = (f'{type(self).__name__} of source {self.source!r} (fix it '
                 'in model.distiller.loss_forward_mappings)')
        records = self.data_buffer
        if not -len(records) <= record_idx < len(records):
            raise IndexError(
                f'{where}: record_idx={record_idx}, but the source ran '
                f'{len(records)} time(s) in this forward pass. record_idx '
                'picks one of those calls: use 0 for the first.')
        record = records[record_idx]
        if data_idx is not None:
            if not isinstance(record, (list, tuple)):
                raise TypeError(
                    f'{where}: data_idx={data_idx}, but the source returns a '
                    f'single {type(record).__name__}, not a tuple: remove '
                    'data_idx.')
            if not -len(record) <= data_idx < len(record):
                allowed = ('0' if len(record) == 1 else
                           f'0 to {len(record) - 1}')
                raise IndexError(
                    f'{where}: data_idx={data_idx}, but the source returns '
                    f'a tuple of {len(record)}: use {allowed}.')
        return get_record_data(self, record_idx, data_idx)

    BaseRecorder.get_record_data = get_checked_record_data
    _APPLIED.append('recorder errors name the source')


def _explain_unknown_optimizer_types() -> None:
    """Workaround 10: a misspelt optimizer type, named."""
    import difflib

    from mmengine.optim import DefaultOptimWrapperConstructor
    from mmengine.registry import OPTIMIZERS

    build = DefaultOptimWrapperConstructor.__call__

    def call(self, model):
        type_ = self.optimizer_cfg.get('type')
        if isinstance(type_, str):
            with OPTIMIZERS.switch_scope_and_registry(None) as registry:
                if registry.get(type_) is None:
                    names, scope = set(), registry
                    while scope is not None:
                        names.update(scope.module_dict)
                        scope = scope.parent
                    close = ', '.join(
                        map(repr, difflib.get_close_matches(type_, names, 3)))
                    raise ValueError(
                        f'optim_wrapper.optimizer.type={type_!r} is not in '
                        f'the {registry.scope}::optimizer registry. Closest '
                        f'optimizers: {close or "none"}.')
        return build(self, model)

    DefaultOptimWrapperConstructor.__call__ = call
    _APPLIED.append('unknown optimizer types named')


def apply() -> None:
    """Apply every workaround once; safe to call again."""
    if _APPLIED:
        return
    _restore_torch_quantization_names()
    _allow_cpu_distributed()
    _write_checkpoints_atomically()
    _load_checkpoints_safely()
    _sync_batchnorm_on_cpu()
    _explain_recorder_errors()
    _explain_unknown_optimizer_types()
    if not _APPLIED:
        _APPLIED.append('none')


def applied_patches() -> List[str]:
    """Names of the workarounds this environment needed."""
    return [p for p in _APPLIED if p != 'none']
