"""What tools/train.py and tools/test.py share: config loading, CPU
distributed runs and the process-group teardown (their flags:
:mod:`projkd_tools.cli`)."""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config


def load_config(args: argparse.Namespace) -> Config:
    """Read the config and apply the command-line overrides.

    ``--work-dir`` wins over ``work_dir`` in the config, which wins over
    ``./work_dirs/<config name>``. A distributed launch without CUDA is
    prepared to run as N CPU processes: :func:`prepare_cpu_distributed`.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.launcher != 'none' and not torch.cuda.is_available():
        prepare_cpu_distributed(cfg)
    return cfg


def prepare_cpu_distributed(cfg: Config) -> None:
    """Workaround ``cpu-distributed`` (projkd_mm.compat): what mmengine
    0.10.7 needs to train distributed on CPU, through its own config keys.

    An ``nccl`` backend becomes ``gloo``; the process group of a
    ``pytorch`` (torchrun) launch is initialised here, so the Runner skips
    ``init_dist`` (which calls ``torch.cuda.set_device``); the DDP wrapper
    gets ``device_ids=None`` through ``model_wrapper_cfg`` (the Runner's
    default passes ``[LOCAL_RANK]``, which DDP refuses for CPU modules).
    With ``sync_bn='torch'`` the wrapper is
    ``CPUSyncBNDistributedDataParallel`` (workaround ``cpu-sync-batchnorm``),
    which turns the SyncBatchNorm layers the Runner makes into ones that run
    on CPU.

    Raises:
        ValueError: ``sync_bn='torch'`` with a ``model_wrapper_cfg`` of
            another type, which would hold torch's GPU-only SyncBatchNorm.
    """
    import torch.distributed as dist

    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.setdefault('device_ids', None)
    if cfg.get('sync_bn') == 'torch':
        wrapper_type = str(wrapper.get('type', 'MMDistributedDataParallel'))
        if wrapper_type.split('.')[-1] not in (
                'MMDistributedDataParallel',
                'CPUSyncBNDistributedDataParallel'):
            raise ValueError(
                f"sync_bn='torch' in a run without CUDA needs "
                "model_wrapper_cfg.type='CPUSyncBNDistributedDataParallel' "
                "(torch's SyncBatchNorm runs on GPUs only), got "
                f'{wrapper_type!r}. Leave model_wrapper_cfg.type out or set '
                'it so, or remove sync_bn.')
        wrapper['type'] = 'CPUSyncBNDistributedDataParallel'
    cfg.model_wrapper_cfg = wrapper
    if cfg.launcher == 'pytorch' and not dist.is_initialized():
        options = {k: v for k, v in dist_cfg.items()
                   if k not in ('backend', 'init_backend')}
        if isinstance(options.get('timeout'), (int, float)):
            import datetime  # seconds, as mmengine's init_dist reads it
            options['timeout'] = datetime.timedelta(
                seconds=options['timeout'])
        dist.init_process_group(backend=dist_cfg['backend'], **options)


def finish_distributed() -> None:
    """Tear the process group down once every rank has finished.

    Without this, a gloo rank can abort at interpreter exit ("terminate
    called without an active exception", SIGABRT) while the group's threads
    are still alive, and torchrun then reports a finished run as failed.
    A no-op outside distributed runs.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
