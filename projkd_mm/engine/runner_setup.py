"""What tools/train.py and tools/test.py share: config loading and the
process-group teardown (their flags: tools/_cli.py)."""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config


def load_config(args: argparse.Namespace) -> Config:
    """Read the config and apply the command-line overrides.

    ``--work-dir`` wins over ``work_dir`` in the config, which wins over
    ``./work_dirs/<config name>``. Without CUDA, an ``nccl`` backend becomes
    ``gloo`` so the same config runs as N CPU processes.
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
        dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
        if dist_cfg.get('backend', 'nccl') == 'nccl':
            dist_cfg['backend'] = 'gloo'
    return cfg


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
