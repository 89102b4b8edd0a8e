"""The paper's ablation on Fashion-MNIST, over seeds, in one of two settings.

    python tools/ablation.py [--preset quick|full] [--work-dir DIR]
        [--seeds S ...] [--methods NAME ...] [--holdout] [--data-root DIR]
        [--train-size N] [--epochs E] [--full]          (quick preset only)

--preset full (the README's headline table): all 60,000 training images, a
ResNet-20 teacher with a stride-2 stem (>= 93 % test top-1, trained once,
its SHA-256 in the results) and a 53 k-parameter ResNet-8 student, each
config's own schedule, seeds 10 20 30 (the reference's). Methods: student
alone, logit KD (CE 0.1 + KL 0.9), KD through a logit projector, no
projector, q = 1, 2, 3, 4, 8, q = 3 + KD, q = 3 with the exact fp32 teacher
and with the bf16 teacher, q = 3 on the penultimate feature plus stage 2,
and a narrow student (32-d) with projectors 32 -> 64. The report adds
paired comparisons (95 % t intervals over the seeds) with a verdict per
claim.

--preset quick (default): the ResNet-14 -> ResNet-8 pair of the demo on the
first 10,000 training images for 10 epochs (--train-size, --epochs;
--full: all 50,000 non-held-out images), seeds 0 1 2; its teacher is too
weak for the students to show differences (docs/ablation.md).

--holdout: validate on the last 10,000 training images (never trained on)
instead of the test set: use it for any tuning; the test set is only for
the final table. Writes results.json, results.md and accuracy_curves.png to
the work dir; run it again with the same settings to add missing methods or
seeds (runs already in results.json are kept; a run that is not in it, one
interrupted say, is started over from scratch with tools/train.py
--overwrite). Other settings in a work dir that holds a study are refused
(results are never dropped): use another --work-dir, or --archive-results
to set the earlier study aside.
"""
import argparse
import os.path as osp
import sys

TOOLS = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(TOOLS))
if TOOLS not in sys.path:
    sys.path.append(TOOLS)
# torch, mmengine and projkd_mm are imported after parse_args(), so --help
# and argument errors answer at once.
from projkd_tools.study import (  # noqa: E402
    FASHION_MNIST_TRAIN,
    PRESETS,
    TRAIN_POOL,
    train_pool,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--preset', choices=sorted(PRESETS), default='quick',
                        help='quick (default): the reduced setting; full: '
                        'the headline study (all 60,000 images)')
    parser.add_argument('--work-dir',
                        help='default: work_dirs/ablation (quick), '
                        'work_dirs/ablation_full (full)')
    parser.add_argument('--data-root', help='Fashion-MNIST idx folder')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help='default: 0 1 2 (quick), 10 20 30 (full)')
    parser.add_argument('--train-size', type=int,
                        help='quick preset: training images (default 10000)')
    parser.add_argument('--epochs', type=int,
                        help='quick preset: epochs (default 10)')
    parser.add_argument('--full', action='store_true',
                        help=f'quick preset: train on all {TRAIN_POOL} '
                        'non-held-out images')
    parser.add_argument('--holdout', action='store_true',
                        help='validate on the held-out last 10,000 training '
                        'images (for tuning), not on the test set')
    every = sorted({m for p in PRESETS.values() for m in p.methods})
    parser.add_argument('--methods', nargs='+', choices=every,
                        help="default: the preset's methods")
    parser.add_argument('--teacher-ckpt',
                        help='reuse this teacher instead of training one')
    parser.add_argument('--report-only', action='store_true',
                        help='train nothing: write the table of the runs '
                        'already in results.json')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='extra key=value overrides for every student run')
    parser.add_argument('--archive-results', action='store_true',
                        help='move the results.json, teacher.json and '
                        'teacher.pth of an earlier study in the work dir to '
                        'WORK_DIR/archive/<time>/ and start a new study '
                        '(without it, a study of other settings there is '
                        'an error)')
    args = parser.parse_args(argv)
    preset = PRESETS[args.preset]
    bad_seeds = [s for s in args.seeds or () if not 0 <= s < 2 ** 32]
    if bad_seeds:
        parser.error(f'--seeds {bad_seeds[0]}: a seed is an int from 0 to '
                     f'{2 ** 32 - 1} (numpy\'s range).')
    if args.epochs is not None and args.epochs < 1:
        parser.error(f'--epochs {args.epochs}: must be at least 1.')
    if args.train_size is not None:
        pool = train_pool(FASHION_MNIST_TRAIN, args.holdout)
        if args.train_size < 1:
            parser.error(f'--train-size {args.train_size}: must be at least '
                         '1 (the first N training images).')
        if args.train_size > pool:
            parser.error(
                f'--train-size {args.train_size}: '
                + (f'with --holdout at most {pool} (the last '
                   f'{FASHION_MNIST_TRAIN - pool} of the {FASHION_MNIST_TRAIN}'
                   ' training images are held out for validation)'
                   if args.holdout else
                   f'at most {pool} (the training images of Fashion-MNIST)')
                + '.')
    if args.preset == 'full':
        given = [f'--{k.replace("_", "-")}' for k in ('train_size', 'epochs')
                 if getattr(args, k) is not None] + (['--full'] if args.full
                                                     else [])
        if given:
            parser.error(f'{", ".join(given)}: only for --preset quick; the '
                         'full preset trains on all 60,000 images (50,000 '
                         'with --holdout) for the epochs of its configs')
    args.train_size = 10000 if args.train_size is None else args.train_size
    args.epochs = 10 if args.epochs is None else args.epochs
    if args.preset == 'full':
        args.train_size, args.epochs = None, None
    args.work_dir = args.work_dir or ('work_dirs/ablation' if args.preset ==
                                      'quick' else 'work_dirs/ablation_full')
    args.seeds = args.seeds or list(preset.default_seeds)
    args.methods = args.methods or list(preset.default_methods)
    unknown = [m for m in args.methods if m not in preset.methods]
    if unknown:
        parser.error(f'--methods {" ".join(unknown)}: not in the '
                     f'{args.preset} preset; its methods: '
                     f'{" ".join(preset.methods)}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from projkd_tools.study import run_study
    return run_study(args)


if __name__ == '__main__':
    sys.exit(main())
