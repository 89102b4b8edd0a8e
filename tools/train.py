"""Train a distillation (or plain mmpretrain) config with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]
        [--overwrite] [--amp] [--channels-last] [--compile]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

A fresh run refuses a work dir that holds the checkpoints of an earlier run
(--resume continues that run, --overwrite deletes its checkpoints and starts
over).

Multi-GPU: tools/dist_train.sh CONFIG GPUS. On a machine without GPUs the
same launcher runs CPU processes that talk over gloo.
"""
import argparse
import os
import os.path as osp
import sys

TOOLS = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(TOOLS))
if TOOLS not in sys.path:
    sys.path.append(TOOLS)

# Light imports only up to parse_args(): torch, mmengine and projkd_mm are
# imported in main(), once the arguments are known to be good.
from projkd_tools.cli import (
    add_common_args,
    cfg_options_dict,
    import_projkd_mm,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint; without a value, from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='start over in a work dir that holds the checkpoints of an '
        'earlier run: they (the names its checkpoint hook gives, such as '
        'epoch_N.pth, iter_N.pth, best_*_epoch_N.pth, and last_checkpoint) '
        'are deleted first; no other file. Without it such a work dir is '
        'refused unless --resume is given')
    parser.add_argument(
        '--amp',
        nargs='?',
        const='fp16',
        choices=['fp16', 'bf16'],
        help='mixed precision training (fp16 with a dynamic loss scaler, '
        'or bf16); the distillation losses stay in fp32')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='keep convolution weights (and so activations) in '
        'channels-last layout, the fast one for tensor cores')
    parser.add_argument(
        '--compile',
        action='store_true',
        help="torch.compile the train step (MMEngine's cfg.compile=True); "
        'see docs/benchmarks.md for what it does and does not speed up')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by total batch / base batch size')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='skip validation during training')
    add_common_args(parser)
    args = parser.parse_args(argv)
    if args.overwrite and args.resume is not None:
        parser.error('--overwrite starts over, --resume continues the run in '
                     'the work dir: pass one of them.')
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    import_projkd_mm()
    from projkd_tools.runner_setup import finish_distributed, load_config
    from projkd_tools.training import (
        check_work_dir,
        delete_earlier_checkpoints,
        earlier_checkpoints,
        latest_checkpoint,
        refuse_earlier_checkpoints,
        runner_class,
        warn_inexact_resume,
        work_dir_lock,
    )
    args.cfg_options = cfg_options_dict(args.cfg_options)
    cfg = load_config(args)
    check_work_dir(cfg)

    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(
                f'--amp needs optim_wrapper.type OptimWrapper or '
                f'AmpOptimWrapper, the config has {wrapper!r}.')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        if args.amp == 'bf16':
            cfg.optim_wrapper.dtype = 'bfloat16'
            cfg.optim_wrapper.pop('loss_scale', None)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = latest_checkpoint(cfg.work_dir)
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})['enable'] = True
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.compile:
        cfg.compile = True

    if cfg.get('resume'):
        if args.overwrite:
            sys.exit('error: --overwrite starts over, but the config sets '
                     'resume=True (continue the run in the work dir). Pass '
                     '--cfg-options resume=False to start over, or leave '
                     '--overwrite out.')
        warn_inexact_resume(cfg)
    else:
        earlier = earlier_checkpoints(cfg)
        if earlier and not args.overwrite:
            refuse_earlier_checkpoints(cfg.work_dir, earlier)
    with work_dir_lock(cfg.work_dir):
        if (not cfg.get('resume') and args.overwrite
                and os.environ.get('RANK', '0') == '0'):
            # Under the lock: no other run is writing these files now.
            delete_earlier_checkpoints(cfg, earlier_checkpoints(cfg))
        runner = runner_class(args.channels_last,
                              cfg.get('runner_type', 'Runner')).from_cfg(cfg)
        runner.train()
    finish_distributed()


if __name__ == '__main__':
    main()
