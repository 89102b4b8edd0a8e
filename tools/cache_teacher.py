"""Run a distillation config's frozen teacher once over every view of every
training image and store what its recorders record: a teacher cache.

    python tools/cache_teacher.py CONFIG --out DIR [--cfg-options ...]
        [--batch-size 512] [--threads N] [--dtype fp16|fp32]
        [--max-size-gb 8] [--overwrite]

Train from it with --cfg-options model.teacher_cache=DIR: the teacher's
forward then does not run in training, and the losses see what they would
online (to the storage precision). The views are those of the training
pipeline's RandomPadCropFlip ((2p+1)^2 offsets x 2 flips for padding p); a
pipeline with another random transform is refused. The projected size is
printed before anything runs; a killed build resumes when the same command
runs again. docs/teacher_cache.md says more.
"""
import argparse
import os.path as osp
import shlex
import sys

TOOLS = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(TOOLS))
if TOOLS not in sys.path:
    sys.path.append(TOOLS)

from projkd_tools.cli import cfg_options_dict, import_projkd_mm  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='distillation config')
    parser.add_argument('--out', required=True, help='cache directory')
    parser.add_argument('--cfg-options', nargs='+', action='extend',
                        help='override config settings, e.g. '
                        'model.teacher_ckpt=/x.pth')
    parser.add_argument('--batch-size', type=int, default=512,
                        help='images per teacher forward (default 512)')
    parser.add_argument('--threads', type=int,
                        help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--dtype', choices=['fp16', 'fp32'], default='fp16',
                        help='storage precision (default fp16: exact for a '
                        'bf16 teacher, 5e-4 relative for an fp32 one)')
    parser.add_argument('--max-size-gb', type=float, default=8.0,
                        help='refuse a cache larger than this (default 8)')
    parser.add_argument('--overwrite', action='store_true',
                        help='build again over a cache or an unfinished '
                        'build in --out')
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f'--batch-size must be at least 1, got {args.batch_size}')
    if args.threads is not None and args.threads < 1:
        parser.error(f'--threads must be at least 1, got {args.threads}')
    if not args.max_size_gb > 0:
        parser.error(f'--max-size-gb must be positive, got {args.max_size_gb}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    import_projkd_mm()
    import torch
    from mmengine.config import Config

    from projkd_mm.teacher_cache import TeacherCacheError
    from projkd_tools.teacher_cache import build_cache
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    options = cfg_options_dict(args.cfg_options)
    if options:
        cfg.merge_from_dict(options)
    argv = sys.argv[1:] if argv is None else argv
    command = 'python tools/cache_teacher.py ' + ' '.join(
        shlex.quote(a) for a in argv)
    try:
        summary = build_cache(cfg, args.out, args.batch_size, args.dtype,
                              args.max_size_gb, args.overwrite, command)
    except TeacherCacheError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f"Built {args.out}: {summary['images']} images x "
          f"{summary['views']} views, {summary['bytes'] / 1e9:.3f} GB, in "
          f"{summary['seconds']:.1f} s ({summary['forwards_per_s']:.0f} "
          f'teacher forwards/s, {torch.get_num_threads()} threads).')
    print(f'Train from it: --cfg-options model.teacher_cache={args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
