"""The paper's ablation on Fashion-MNIST, over seeds, in one of three settings.

    python tools/ablation.py [--preset quick|short|full] [--work-dir DIR]
        [--seeds S ...] [--methods NAME ...] [--holdout] [--data-root DIR]
        [--jobs N] [--threads T] [--results FILE]
        [--epochs E]                                    (quick or full)
        [--train-size N] [--full]                       (quick preset only)

--preset full (the README's headline table): all 60,000 training images,
the committed ResNet-20 teacher with a stride-2 stem
(checkpoints/fashion_mnist/, its SHA-256 checked: another teacher is refused
unless --allow-other-teacher) and a 53 k-parameter ResNet-8 student, every
row on one cosine schedule of --epochs (default: the converged schedule of
docs/ablation.md). Seeds 10 20 30 40 50 for the student alone, logit KD
(CE 0.1 + KL 0.9), no projector, q = 1 and q = 3; seeds 10 20 30 for
q = 3 + KD, q = 8 and SRD. The distillation rows read a teacher cache
(tools/cache_teacher.py; built first into WORK_DIR/teacher_cache when
missing; --teacher-cache DIR, --no-teacher-cache). Its results file is
docs/results/study_fashion_mnist.json (with .md and .png beside it),
rewritten after every run and resumed from; every run records its CPU,
torch version, threads and wall time. --jobs N runs N runs at once, each
with --threads torch threads (default for this preset: one run per core,
one thread each; measured faster than one run at a time with all cores,
benchmarks/study_jobs.py).

--preset short: the same pair after 5 epochs of each config's step
schedule, teacher trained by the tool (resnet20s2_15e_fmnist.py), seeds 10
20 30, 19 methods (q = 1..8, KD variants, teacher precisions, stage 2, a
narrow and a ViT student): docs/ablation.md.

--preset quick (default): the ResNet-14 -> ResNet-8 pair of the demo on the
first 10,000 training images for 10 epochs (--train-size, --epochs;
--full: all 50,000 non-held-out images), seeds 0 1 2; its teacher is too
weak for the students to show differences (docs/ablation.md).

--holdout: validate on the last sixth of the training images (never
trained on) instead of the test set: use it for any tuning; the test set
is only for the final table. Writes results.json, results.md and
accuracy_curves.png to the work dir (the full preset: its results file);
run it again with the same settings to add missing methods or seeds (runs
already in results.json are kept; a run that is not in it, one interrupted
say, is started over from scratch with tools/train.py --overwrite). Other
settings in a work dir that holds a study are refused (results are never
dropped): use another --work-dir, or --archive-results to set the earlier
study aside.
"""
import argparse
import os
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
    FULL_EPOCHS,
    PRESETS,
    TRAIN_POOL,
    train_pool,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--preset', choices=sorted(PRESETS), default='quick',
                        help='quick (default): the reduced setting; short: '
                        'all 60,000 images, 5 epochs; full: the headline '
                        'study at the converged schedule')
    parser.add_argument('--work-dir',
                        help='default: work_dirs/ablation (quick), '
                        'work_dirs/ablation_short, work_dirs/ablation_full')
    parser.add_argument('--data-root', help='Fashion-MNIST idx folder')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help='default: 0 1 2 (quick), 10 20 30 (short), '
                        '10 20 30 40 50 (full; some methods run only on the '
                        'first three)')
    parser.add_argument('--train-size', type=int,
                        help='quick preset: training images (default 10000)')
    parser.add_argument('--epochs', type=int,
                        help='quick preset: epochs (default 10); full '
                        f'preset: epochs of the cosine schedule (default '
                        f'{FULL_EPOCHS}; others are for the schedule search, '
                        'with --holdout)')
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
    parser.add_argument('--results',
                        help='results file (default: the full preset\'s '
                        'docs/results/study_fashion_mnist.json, otherwise '
                        'WORK_DIR/results.json)')
    parser.add_argument('--allow-other-teacher', action='store_true',
                        help='full preset: accept a --teacher-ckpt whose '
                        'SHA-256 is not the committed teacher\'s')
    parser.add_argument('--teacher-cache',
                        help='full preset: the teacher cache the '
                        'distillation runs read (default '
                        'WORK_DIR/teacher_cache, built when missing)')
    parser.add_argument('--no-teacher-cache', action='store_true',
                        help='full preset: run the teacher at every step')
    parser.add_argument('--jobs', type=int,
                        help='runs at once (default: the full preset one '
                        'per core, each with one thread: 2 runs at once '
                        'took 0.65x the time of 2 runs one after another '
                        'with 2 threads on 2 cores, benchmarks/'
                        'study_jobs.py; the other presets 1)')
    parser.add_argument('--threads', type=int,
                        help='torch threads of each run (default: the '
                        'cores / --jobs)')
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
    if args.jobs is None:
        args.jobs = (os.cpu_count() or 1) if args.preset == 'full' else 1
    if args.jobs < 1:
        parser.error(f'--jobs {args.jobs}: must be at least 1.')
    if args.threads is not None and args.threads < 1:
        parser.error(f'--threads {args.threads}: must be at least 1.')
    if args.preset != 'quick':
        quick_only = ('train_size', 'epochs') if args.preset == 'short' \
            else ('train_size', )
        given = [f'--{k.replace("_", "-")}' for k in quick_only
                 if getattr(args, k) is not None] + (['--full'] if args.full
                                                     else [])
        if given:
            parser.error(f'{", ".join(given)}: only for --preset quick; the '
                         f'{args.preset} preset trains on all 60,000 images '
                         '(50,000 with --holdout)' +
                         (' for the epochs of its configs'
                          if args.preset == 'short' else ''))
    if args.preset != 'full':
        given = [flag for flag, on in (
            ('--allow-other-teacher', args.allow_other_teacher),
            ('--teacher-cache', args.teacher_cache),
            ('--no-teacher-cache', args.no_teacher_cache)) if on]
        if given:
            parser.error(f'{", ".join(given)}: only for --preset full.')
    if args.preset == 'quick':
        args.train_size = 10000 if args.train_size is None \
            else args.train_size
        args.epochs = 10 if args.epochs is None else args.epochs
    elif args.preset == 'short':
        args.train_size, args.epochs = None, None
    else:
        args.epochs = FULL_EPOCHS if args.epochs is None else args.epochs
    args.work_dir = args.work_dir or (
        'work_dirs/ablation' if args.preset == 'quick' else
        f'work_dirs/ablation_{args.preset}')
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
