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
import contextlib
import glob
import os
import os.path as osp
import re
import sys

TOOLS = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(TOOLS))
if TOOLS not in sys.path:
    sys.path.append(TOOLS)

# Light imports only up to parse_args(): torch, mmengine and projkd_mm are
# imported in main(), once the arguments are known to be good.
from _cli import add_common_args, cfg_options_dict, import_projkd_mm


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
        'earlier run: they (epoch_*.pth, iter_*.pth, best_*.pth and '
        'last_checkpoint) are deleted first. Without it such a work dir is '
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
    from projkd_mm.engine.runner_setup import finish_distributed, load_config
    args.cfg_options = cfg_options_dict(args.cfg_options)
    cfg = load_config(args)

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
        runner = runner_class(args.channels_last).from_cfg(cfg)
        runner.train()
    finish_distributed()


def warn_inexact_resume(cfg) -> None:
    """Say so when the loader settings make a resume differ."""
    loader = cfg.get('train_dataloader') or {}
    if loader.get('num_workers', 0) and loader.get('persistent_workers'):
        print('warning: resuming with train_dataloader.num_workers='
              f"{loader['num_workers']} and persistent_workers=True: the "
              "workers' random generators restart after a resume, so data "
              'augmentation (and the final weights) will differ from an '
              'uninterrupted run. For an exact resume pass --cfg-options '
              'train_dataloader.persistent_workers=False (or '
              'train_dataloader.num_workers=0); see docs/faq.md.',
              file=sys.stderr)


# The names MMEngine's CheckpointHook gives checkpoints by default
# (filename_tmpl 'epoch_{}.pth' or 'iter_{}.pth', save_best's 'best_*'),
# and their '.tmp' while projkd_mm writes them.
RUNNER_CHECKPOINTS = ('epoch_*.pth', 'iter_*.pth', 'best_*.pth')


def earlier_checkpoints(cfg) -> list:
    """Paths of checkpoints an earlier run left in ``cfg.work_dir``.

    Only the Runner's own files count (``last_checkpoint`` and checkpoints
    named as the CheckpointHook names them), never other ``.pth`` files
    kept there, a teacher say.
    """
    work_dir = cfg.work_dir
    if not osp.isdir(work_dir):
        return []
    patterns = set(RUNNER_CHECKPOINTS)
    hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    template = hook.get('filename_tmpl')
    if template:
        patterns.add(re.sub(r'\{[^}]*\}', '*', template))
    found = set()
    for pattern in patterns:
        for suffix in ('', '.tmp'):
            found.update(glob.glob(osp.join(glob.escape(work_dir),
                                            pattern + suffix)))
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        found.add(pointer)
    return sorted(p for p in found if osp.isfile(p))


def _names(paths: list, most: int = 6) -> str:
    names = [osp.basename(p) for p in paths]
    if len(names) > most:
        names = names[:most - 1] + [f'... ({len(paths) - most + 1} more)']
    return ', '.join(names)


def refuse_earlier_checkpoints(work_dir: str, earlier: list) -> None:
    """SystemExit: a fresh run would overwrite an earlier run's files."""
    sys.exit(f'error: the work dir {work_dir} holds the checkpoints of an '
             f'earlier run ({_names(earlier)}), which a new run would '
             'overwrite. Pass --resume to continue that run, another '
             '--work-dir to keep it, or --overwrite to delete its '
             'checkpoints and start over. Nothing was written.')


def delete_earlier_checkpoints(cfg, earlier: list) -> None:
    """``--overwrite``: delete them, unless the config reads one of them
    (``load_from``, ``model.teacher_ckpt``, ...): then SystemExit."""
    doomed = {osp.realpath(p): p for p in earlier}
    used = [(key, value) for key, value in _strings(cfg.to_dict())
            if osp.realpath(value) in doomed]
    if used:
        key, value = used[0]
        sys.exit(f'error: --overwrite would delete {value}, which the '
                 f'config reads ({key}={value!r}). Copy it out of the work '
                 f'dir {cfg.work_dir} and point {key} at the copy, or pass '
                 'another --work-dir.')
    for path in earlier:
        os.remove(path)
    if earlier:
        print(f'--overwrite: deleted the checkpoints of the earlier run in '
              f'{cfg.work_dir} ({_names(earlier)}); starting over.',
              flush=True)


def _strings(node, key: str = ''):
    """(dotted key, value) of every string in a config dict."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _strings(value, f'{key}.{name}' if key else str(name))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _strings(value, f'{key}.{i}')
    elif isinstance(node, str) and node:
        yield key, node


@contextlib.contextmanager
def work_dir_lock(work_dir: str):
    """Hold ``WORK_DIR/.train.lock`` so two runs never share a work dir.

    Only the main process (rank 0) locks: the ranks of one run share it.
    """
    if os.environ.get('RANK', '0') != '0':
        yield
        return
    import fcntl
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, '.train.lock')
    with open(path, 'a') as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.exit(f'error: another training run is using {work_dir} (it '
                     f'holds {path}); two runs in one work dir would '
                     'interleave their checkpoints. Wait for it, or pass '
                     'another --work-dir.')
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def latest_checkpoint(work_dir: str) -> str:
    """The file ``--resume`` (no value) resumes from, or SystemExit."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        sys.exit(f'error: --resume: nothing to resume in {work_dir} (no '
                 'last_checkpoint file there). Pass the checkpoint '
                 '(--resume FILE), the --work-dir of the run, or leave '
                 '--resume out to start from scratch.')
    with open(pointer) as f:
        target = f.read().strip()
    if not osp.isfile(target):
        sys.exit(f'error: --resume: {pointer} names {target!r}, which does '
                 'not exist. Pass an existing checkpoint with --resume FILE '
                 '(and fix or delete last_checkpoint).')
    return target


def runner_class(channels_last: bool) -> type:
    """MMEngine's Runner with two additions: the model optionally in
    channels-last layout right after building it (before DDP wraps it,
    whose gradient buckets must see the final parameter layout), and a
    clear error for ``--resume`` from a file without Runner state."""
    import torch
    from mmengine.runner import Runner

    from projkd_mm.utils.checkpoint import CheckpointError

    class TrainRunner(Runner):

        def build_model(self, model):
            model = super().build_model(model)
            if channels_last:
                model = model.to(memory_format=torch.channels_last)
            return model

        def resume(self, filename, *args, **kwargs):
            try:
                return super().resume(filename, *args, **kwargs)
            except KeyError as err:
                if not err.args or err.args[0] not in ('meta', 'epoch',
                                                       'iter'):
                    raise
                raise CheckpointError(
                    f'--resume: {filename!r} has no {err.args[0]!r} entry, '
                    'so it is not a checkpoint a Runner wrote (a teacher or '
                    'an exported model, say). Resume from an epoch_N.pth of '
                    'the run, or start from these weights with --cfg-options '
                    f'load_from={filename} and no --resume.') from None

    return TrainRunner


if __name__ == '__main__':
    main()
