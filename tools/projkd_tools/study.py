"""The Fashion-MNIST ablation study of tools/ablation.py.

Every run is a fresh tools/train.py process (:mod:`projkd_tools.experiment`);
results.json is rewritten (atomically) after each run, so a study resumes
across sessions: runs already in it are kept, the others are started over.
"""
import hashlib
import json
import os
import os.path as osp
import shlex
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from projkd_tools.experiment import REPO

CONFIGS = osp.join(REPO, 'configs', 'projkd', 'fashion_mnist')


@dataclass(frozen=True)
class Method:
    """One row of a study: the config it trains (under :data:`CONFIGS`),
    its label in the table and the --cfg-options that make that config
    this row. A row that turns one knob of a config (q, the teacher's
    precision) is the config plus options, not a config file of its own."""
    config: str
    label: str
    options: Dict[str, object] = field(default_factory=dict)


def projectors(q: int) -> Dict[str, object]:
    """cfg-options of an ensemble of ``q`` projectors."""
    return {'model.distiller.connectors.projector.num_projectors': q}


#: The teacher run exactly (fp32, contiguous) and forced to bf16 autocast +
#: channels_last on any machine (every config says 'auto', which picks bf16
#: only where the device computes it natively): the accuracy check of the
#: cheap teacher (docs/benchmarks.md, "A cheap teacher").
TEACHER_FP32 = {'model.teacher_dtype': 'fp32',
                'model.teacher_memory_format': 'contiguous'}
TEACHER_BF16 = {'model.teacher_dtype': 'bf16',
                'model.teacher_memory_format': 'channels_last'}


@dataclass(frozen=True)
class Preset:
    """One setting of the study: its pair, its methods and its claims."""
    name: str
    teacher: str  # config of the teacher trained alone
    teacher_label: str
    # name -> its row; the order of the table.
    methods: Dict[str, Method]
    # What a plain `tools/ablation.py --preset NAME` runs.
    default_methods: List[str]
    default_seeds: List[int]
    # Paired comparisons: (claim, method, baseline, kind); kind 'greater'
    # (held when the interval of method - baseline lies above 0), 'equal'
    # (held when it lies inside +-EQUIVALENCE points) or 'differ'
    # (reported both ways: held when it excludes 0).
    claims: List[Tuple[str, str, str, str]] = field(default_factory=list)
    # Methods run on other seeds than default_seeds (name -> seeds).
    seeds: Dict[str, List[int]] = field(default_factory=dict)
    # A committed teacher (path under the repository) and its SHA-256: the
    # runs use it unless --teacher-ckpt names another (and
    # --allow-other-teacher says so).
    teacher_ckpt: Optional[str] = None
    teacher_sha256: Optional[str] = None
    # Where results.json lives (under the repository), if not the work dir.
    results: Optional[str] = None
    # Distillation runs read a teacher cache built from this config (whose
    # teacher recorders cover every method's), unless --no-teacher-cache.
    cache_config: Optional[str] = None

    def seeds_of(self, method: str, seeds: List[int]) -> List[int]:
        """The seeds ``method`` runs on when the study runs ``seeds``."""
        own = self.seeds.get(method)
        return seeds if own is None else [s for s in seeds if s in own]


_QUICK_PEFD = 'pefd_resnet14_resnet8_10e_fmnist.py'
QUICK = Preset(
    name='quick',
    teacher='resnet14_10e_fmnist.py',
    teacher_label='teacher ResNet-14 (reference)',
    methods={
        'student': Method('resnet8_10e_fmnist.py', 'student alone (CE)'),
        'kd': Method('kd-hinton_resnet14_resnet8_10e_fmnist.py',
                     'logit KD (T=4, CE 1 + KL 1)'),
        'noproj': Method('pefd-noproj_resnet14_resnet8_10e_fmnist.py',
                         'feature matching, no projector'),
        'ens1': Method('pefd-q1_resnet14_resnet8_10e_fmnist.py',
                       'one projector'),
        'ens2': Method(_QUICK_PEFD, 'ensemble q=2', projectors(2)),
        'ens3': Method(_QUICK_PEFD, 'ensemble q=3'),
        'ens4': Method(_QUICK_PEFD, 'ensemble q=4', projectors(4)),
        'ens3_kd': Method('pefd-kd_resnet14_resnet8_10e_fmnist.py',
                          'ensemble q=3 + logit KD'),
        # The teacher's precision (the rows above: teacher_dtype='auto').
        'ens3_fp32teacher': Method(_QUICK_PEFD, 'ensemble q=3, teacher fp32',
                                   TEACHER_FP32),
        'ens3_bf16teacher': Method(
            _QUICK_PEFD, 'ensemble q=3, teacher bf16 + channels_last',
            TEACHER_BF16),
    },
    default_methods=['student', 'kd', 'noproj', 'ens1', 'ens2', 'ens3',
                     'ens4', 'ens3_kd'],
    default_seeds=[0, 1, 2])

_PAIR = 'resnet20s2_resnet8s2'
_PEFD = f'pefd_{_PAIR}_5e_fmnist.py'
SHORT = Preset(
    name='short',
    teacher='resnet20s2_15e_fmnist.py',
    teacher_label='teacher ResNet-20, stride-2 stem',
    methods={
        'student': Method('resnet8s2_5e_fmnist.py', 'student alone (CE)'),
        'kd': Method(f'kd_{_PAIR}_5e_fmnist.py',
                     'logit KD (CE 0.1 + KL 0.9)'),
        'kd1proj': Method(f'kd-1proj_{_PAIR}_5e_fmnist.py',
                          'logit KD through a logit projector'),
        'noproj': Method(f'pefd-noproj_{_PAIR}_5e_fmnist.py',
                         'feature matching, no projector'),
        'ens1': Method(f'pefd-q1_{_PAIR}_5e_fmnist.py', 'one projector'),
        'ens2': Method(_PEFD, 'ensemble q=2', projectors(2)),
        'ens3': Method(_PEFD, 'ensemble q=3'),
        'ens4': Method(_PEFD, 'ensemble q=4', projectors(4)),
        'ens8': Method(_PEFD, 'ensemble q=8', projectors(8)),
        'ens3_kd': Method(f'pefd-kd_{_PAIR}_5e_fmnist.py',
                          'ensemble q=3 + logit KD'),
        'ens3_fp32teacher': Method(
            _PEFD, 'ensemble q=3, teacher fp32 (exact)', TEACHER_FP32),
        'ens3_bf16teacher': Method(
            _PEFD, 'ensemble q=3, teacher bf16 + channels_last',
            TEACHER_BF16),
        'ens3_stage2': Method(f'pefd-stage2_{_PAIR}_5e_fmnist.py',
                              'ensemble q=3, penultimate + stage 2'),
        # The pair whose widths differ (student ends in 32 channels).
        'w32_student': Method('resnet8s2w32_5e_fmnist.py',
                              'narrow student (32-d) alone (CE)'),
        'w32_ens1': Method(f'pefd-q1_{_PAIR}w32_5e_fmnist.py',
                           'narrow student, one projector 32 -> 64'),
        'w32_ens3': Method(f'pefd_{_PAIR}w32_5e_fmnist.py',
                           'narrow student, ensemble q=3 32 -> 64'),
        # The heterogeneous pair: the same CNN teacher, a tiny ViT student.
        'vit_student': Method('vit-p4_5e_fmnist.py', 'ViT student alone (CE)'),
        'vit_kd': Method('kd_resnet20s2_vit-p4_5e_fmnist.py',
                         'ViT student, logit KD (CE 0.1 + KL 0.9)'),
        'vit_ens3': Method('pefd_resnet20s2_vit-p4_5e_fmnist.py',
                           'ViT student, ensemble q=3'),
    },
    # Run in this order (the paper's main claims first, so a partial study
    # already answers them); the table keeps the order above.
    default_methods=['student', 'kd', 'noproj', 'ens1', 'ens3', 'ens3_kd',
                     'kd1proj', 'ens2', 'ens4', 'ens8', 'ens3_fp32teacher',
                     'ens3_bf16teacher', 'ens3_stage2', 'w32_student',
                     'w32_ens1', 'w32_ens3', 'vit_student', 'vit_kd',
                     'vit_ens3'],
    default_seeds=[10, 20, 30],
    claims=[
        ('projector > no projector', 'ens1', 'noproj', 'greater'),
        ('ensemble (q=3) >= one projector', 'ens3', 'ens1', 'greater'),
        ('PEFD (q=3) > student alone', 'ens3', 'student', 'greater'),
        ('PEFD (q=3) > logit KD', 'ens3', 'kd', 'greater'),
        ('PEFD + KD vs PEFD (q=3)', 'ens3_kd', 'ens3', 'differ'),
        ('logit projector > logit KD', 'kd1proj', 'kd', 'greater'),
        # The teacher as every config runs it ('auto': bf16 where the
        # device computes it natively, else fp32 channels_last) and forced
        # to bf16, each against the exact fp32 teacher.
        ("cheap teacher ('auto') = exact teacher (fp32)", 'ens3',
         'ens3_fp32teacher', 'equal'),
        ('cheap teacher (bf16) = exact teacher (fp32)', 'ens3_bf16teacher',
         'ens3_fp32teacher', 'equal'),
        ('penultimate + stage 2 vs penultimate only (q=3)', 'ens3_stage2',
         'ens3', 'differ'),
        ('narrow pair: ensemble (q=3) >= one projector', 'w32_ens3',
         'w32_ens1', 'greater'),
        ('narrow pair: PEFD (q=3) > student alone', 'w32_ens3',
         'w32_student', 'greater'),
        ('CNN -> ViT: PEFD (q=3) > student alone', 'vit_ens3', 'vit_student',
         'greater'),
        ('CNN -> ViT: PEFD (q=3) > logit KD', 'vit_ens3', 'vit_kd',
         'greater'),
    ])

#: The student's schedule of the converged study (--preset full): a cosine
#: schedule of FULL_EPOCHS epochs, lr 0.05 annealed to 0 at every
#: iteration, the shortest after which the student alone gains less than
#: 0.2 points on the held-out split when the schedule doubles
#: (docs/ablation.md, "How long until the student alone stops gaining"):
#: 30 -> 60 and 60 -> 120 epochs each gained 0.6 points; 120 -> 240 is
#: the check of 120.
FULL_EPOCHS = 120


def cosine_schedule(epochs: int) -> Dict[str, object]:
    """cfg-options replacing a config's schedule by a cosine one of
    ``epochs`` epochs (lr to 0, stepped every iteration)."""
    return {
        'train_cfg.max_epochs': epochs,
        'param_scheduler._delete_': True,
        'param_scheduler.type': 'CosineAnnealingLR',
        'param_scheduler.by_epoch': True,
        'param_scheduler.T_max': epochs,
        'param_scheduler.eta_min': 0.0,
        'param_scheduler.convert_to_iter_based': True,
    }


FIVE_SEEDS = [10, 20, 30, 40, 50]
FULL = Preset(
    name='full',
    teacher='resnet20s2_coslr-30e_fmnist.py',
    teacher_label='teacher ResNet-20, stride-2 stem (committed checkpoint)',
    methods={
        'student': Method('resnet8s2_5e_fmnist.py', 'student alone (CE)'),
        'kd': Method(f'kd_{_PAIR}_5e_fmnist.py',
                     'logit KD (CE 0.1 + KL 0.9)'),
        'noproj': Method(f'pefd-noproj_{_PAIR}_5e_fmnist.py',
                         'feature matching, no projector'),
        'ens1': Method(f'pefd-q1_{_PAIR}_5e_fmnist.py', 'one projector'),
        'ens3': Method(_PEFD, 'PEFD, ensemble q=3'),
        'ens3_kd': Method(f'pefd-kd_{_PAIR}_5e_fmnist.py',
                          'ensemble q=3 + logit KD'),
        'ens8': Method(_PEFD, 'ensemble q=8', projectors(8)),
        'srd': Method(f'srd_{_PAIR}_5e_fmnist.py',
                      'SRD (linear projector, BN, 4th-power loss, KL T=1)'),
    },
    # The paper's claims first, so a partial study already answers them.
    default_methods=['student', 'kd', 'noproj', 'ens1', 'ens3', 'srd',
                     'ens3_kd', 'ens8'],
    default_seeds=FIVE_SEEDS,
    seeds={'ens3_kd': FIVE_SEEDS[:3], 'ens8': FIVE_SEEDS[:3],
           'srd': FIVE_SEEDS[:3]},
    teacher_ckpt='checkpoints/fashion_mnist/resnet20s2_cos30_fmnist.pth',
    # python tools/train.py configs/projkd/fashion_mnist/
    #   resnet20s2_coslr-30e_fmnist.py --cfg-options randomness.seed=0,
    # exported (tools/export_student.py CKPT OUT --prefix none --no-config):
    # 94.25 %.
    teacher_sha256='f27d0d06bd6ec9b78171a32885385ab88cbe497fa070d1f9cc113dca849d05b8',
    results='docs/results/study_fashion_mnist.json',
    cache_config=f'pefd-kd_{_PAIR}_5e_fmnist.py',
    claims=[
        ('projector > no projector', 'ens1', 'noproj', 'greater'),
        ('ensemble (q=3) >= one projector', 'ens3', 'ens1', 'greater'),
        ('PEFD (q=3) > student alone', 'ens3', 'student', 'greater'),
        ('PEFD (q=3) > logit KD', 'ens3', 'kd', 'greater'),
        ('PEFD (q=3) vs SRD', 'ens3', 'srd', 'differ'),
        ('PEFD + KD vs PEFD (q=3)', 'ens3_kd', 'ens3', 'differ'),
        ('ensemble q=8 vs q=3', 'ens8', 'ens3', 'differ'),
    ])
PRESETS = {p.name: p for p in (QUICK, SHORT, FULL)}
# Every method name of any preset (for --methods' choices).
METHODS = {name: spec for p in PRESETS.values()
           for name, spec in p.methods.items()}
# An 'equal' claim holds when the whole 95 % interval of the difference
# lies within +-EQUIVALENCE points of top-1.
EQUIVALENCE = 0.3
# The goal of the full study (README): the best projector-ensemble student
# with at most GOAL_PARAMS parameters reaches GOAL_TOP1 % (mean of the
# seeds) and beats CE, KD and no projector by more than 2 standard
# deviations (of the paired differences over the seeds).
GOAL_PARAMS = 60000
GOAL_TOP1 = 91.5
# Fashion-MNIST's training images. With --holdout the last sixth of the
# training images (its last 10,000) is the held-out validation split, never
# trained on, and the rest (its first 50,000) the training pool.
FASHION_MNIST_TRAIN = 60000


def held_out(images: int) -> int:
    """How many of ``images`` training images --holdout validates on."""
    return images // 6


def train_pool(images: int, holdout: bool) -> int:
    """The training images runs may train on: the first ones, before the
    held-out split with ``holdout``."""
    return images - held_out(images) if holdout else images


TRAIN_POOL = train_pool(FASHION_MNIST_TRAIN, True)


def train_size(args, images: int = FASHION_MNIST_TRAIN) -> int:
    """How many training images the runs of ``args`` train on, of a
    dataset with ``images`` training images."""
    pool = train_pool(images, args.holdout)
    if args.preset != 'quick' or args.full:
        return pool
    return args.train_size


def check_train_size(args, images: int, data_root: str) -> str:
    """Why ``args`` cannot train on ``data_root``, which holds ``images``
    training images (an empty string when it can)."""
    pool = train_pool(images, args.holdout)
    if args.holdout and held_out(images) < 1:
        return (f'--holdout: {images} training images leave none to hold '
                'out (the last sixth is held out).')
    if args.train_size is not None and args.preset == 'quick' and \
            not args.full and args.train_size > pool:
        held = (f' with --holdout (its last {held_out(images)} of {images} '
                'are held out)' if args.holdout else '')
        return (f'--train-size {args.train_size}: the training pool of '
                f'{data_root} is {pool} images{held}. Pass --train-size '
                f'{pool} or less.')
    return ''


def run_options(args, data_root: str, seed: int,
                images: int = FASHION_MNIST_TRAIN) -> dict:
    """--cfg-options of one run: data, split, seed and (quick preset) the
    schedule; the full preset's schedule is its configs'. ``images``: the
    training images of the data (the held-out split is their last sixth,
    disjoint from the first ``train_size`` by :func:`check_train_size`)."""
    from projkd_tools.experiment import loader_options
    size = train_size(args, images)
    full_set = args.preset != 'quick' and not args.holdout
    # mmengine's int ``indices``: N > 0 the first N images, -N the last N.
    # Not lists: they go on tools/train.py's command line, where 50,000
    # indices exceed the OS's limit on one argument (128 KiB).
    options = loader_options(data_root, None if full_set else size)
    if args.holdout:
        options.update({
            'val_dataloader.dataset.split': 'train',
            'val_dataloader.dataset.test_mode': False,
            'val_dataloader.dataset.indices': -held_out(images),
        })
    if args.preset == 'quick':
        epochs = args.epochs
        options.update({
            'train_cfg.max_epochs': epochs,
            'param_scheduler.milestones': [max(1, round(epochs * 0.6)),
                                           max(1, round(epochs * 0.8))],
        })
    elif args.preset == 'full':
        options.update(cosine_schedule(args.epochs))
        # 120 epochs of a checkpoint each (student, teacher, optimizer:
        # about 5 MB) add up to 650 MB a run: resume needs only the last.
        options['default_hooks.checkpoint.max_keep_ckpts'] = 1
    options['randomness.seed'] = seed
    for item in args.cfg_options:
        key, _, value = item.partition('=')
        options[key] = value
    return options


def mean_std(values):
    if len(values) < 2:
        return values[0], 0.0
    return statistics.mean(values), statistics.stdev(values)


def teacher_from_runs(methods: dict):
    """The teacher's figures as evaluated inside a distillation run."""
    for runs in methods.values():
        for run in runs:
            curve = run.get('teacher_curve')
            if curve:
                return dict(final=curve[-1], best=max(curve), seconds=None,
                            curve=curve)
    return None


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def count_parameters(config: str, options: Optional[dict] = None) -> dict:
    """Parameters of the student (what is exported), of the extra trainable
    modules of training only (projectors) and of the teacher, from the
    model the config builds (with the cfg-options ``options``)."""
    from mmengine.config import Config

    from projkd_mm.utils.build import build_model
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options or {})
    if 'teacher' not in cfg.model:
        model = build_model(cfg)
        return dict(student=sum(p.numel() for p in model.parameters()),
                    extra=0, teacher=None)
    model = build_model(cfg, teacher_ckpt=None, allow_random_teacher=True)
    student = sum(p.numel() for p in model.architecture.parameters())
    teacher = sum(p.numel() for p in model.teacher.parameters())
    total = sum(p.numel() for p in model.parameters())
    return dict(student=student, extra=total - student - teacher,
                teacher=teacher)


def paired(results: dict, method: str, baseline: str, key='final'):
    """Mean difference method - baseline over the seeds both have run, its
    std and 95 % t interval (t with n - 1 degrees of freedom)."""
    from scipy import stats
    a = {r['seed']: r[key] for r in results['methods'].get(method, [])}
    b = {r['seed']: r[key] for r in results['methods'].get(baseline, [])}
    seeds = sorted(set(a) & set(b))
    diffs = [a[s] - b[s] for s in seeds]
    if not diffs:
        return None
    if len(diffs) == 1:
        # One seed: the difference, but no spread and no interval yet.
        return dict(seeds=seeds, mean=diffs[0], std=None, low=None,
                    high=None)
    mean = statistics.mean(diffs)
    std = statistics.stdev(diffs)
    half = stats.t.ppf(0.975, len(diffs) - 1) * std / len(diffs) ** 0.5
    return dict(seeds=seeds, mean=mean, std=std, low=mean - half,
                high=mean + half)


def verdict(diff, kind: str) -> str:
    if diff is None:
        return 'not run'
    if diff['low'] is None:
        return 'one seed: no interval yet'
    low, high = diff['low'], diff['high']
    if kind == 'greater':
        return ('held' if low > 0 else 'not held' if high < 0 else
                'inconclusive')
    if kind == 'equal':
        return ('held' if -EQUIVALENCE < low and high < EQUIVALENCE else
                'not held' if low > 0 or high < 0 else 'inconclusive')
    return ('differ (+)' if low > 0 else 'differ (-)' if high < 0 else
            'no difference shown')


def claims_table(results: dict, preset: Preset) -> Tuple[str, list]:
    rows = []
    lines = ['| claim | comparison | difference (pp), mean [95 % CI] | '
             'verdict |', '|---|---|---|---|']
    for claim, method, baseline, kind in preset.claims:
        diff = paired(results, method, baseline)
        result = verdict(diff, kind)
        rows.append(dict(claim=claim, method=method, baseline=baseline,
                         kind=kind, difference=diff, verdict=result))
        figure = ('n/a' if diff is None else
                  f'{diff["mean"]:+.2f} (1 seed)' if diff['low'] is None
                  else f'{diff["mean"]:+.2f} [{diff["low"]:+.2f}, '
                  f'{diff["high"]:+.2f}]')
        lines.append(f'| {claim} | {method} - {baseline} | {figure} | '
                     f'{result} |')
    return '\n'.join(lines), rows


def goal_check(results: dict, preset: Preset) -> Tuple[str, dict]:
    """The README's goal: the best projector-ensemble student of at most
    GOAL_PARAMS parameters, against GOAL_TOP1 and against CE, KD and no
    projector (by more than 2 std of the paired differences)."""
    params = results.get('params', {})
    candidates = [
        name for name, runs in results['methods'].items()
        if name.startswith(('ens', 'w32_ens', 'vit_ens'))
        and 'teacher' not in name
        and params.get(name, {}).get('student', GOAL_PARAMS + 1) <=
        GOAL_PARAMS
    ]
    if not candidates:
        return 'Goal: no projector-ensemble student has run yet.', {}
    best = max(candidates, key=lambda n: statistics.mean(
        r['final'] for r in results['methods'][n]))
    top1 = statistics.mean(r['final'] for r in results['methods'][best])
    margins = {}
    for baseline in ('student', 'kd', 'noproj'):
        diff = paired(results, best, baseline)
        margins[baseline] = diff
    beats = all(d is not None and d['std'] is not None
                and d['mean'] > 2 * d['std'] for d in margins.values())
    met = top1 >= GOAL_TOP1 and beats
    parts = ', '.join(
        f'{b}: n/a' if d is None else
        f'{b}: {d["mean"]:+.2f} (1 seed)' if d['std'] is None else
        f'{b}: {d["mean"]:+.2f} (2 std = {2 * d["std"]:.2f})'
        for b, d in margins.items())
    text = (f'Goal (best projector-ensemble student with <= {GOAL_PARAMS} '
            f'parameters reaches >= {GOAL_TOP1} % and beats CE, KD and no '
            f'projector by > 2 std): **{"met" if met else "not met"}**. '
            f'Best: {preset.methods[best].label} ({params[best]["student"]} '
            f'parameters), {top1:.2f} %; margins over {parts}.')
    return text, dict(best=best, top1=top1, met=met, margins=margins)


def split_name(args) -> str:
    """The split the runs of ``args`` report top-1 on."""
    return 'held-out validation' if args.holdout else 'test'


def table(results: dict, args, preset: Preset) -> str:
    split = split_name(args)
    params = results.get('params', {})
    lines = [
        f'| method | seeds | final top-1 ({split}) | best-epoch top-1 | '
        'parameters (student + training-only) | time / run (median) |',
        '|---|---|---|---|---|---|'
    ]
    for name, runs in results['methods'].items():
        final = mean_std([r['final'] for r in runs])
        best = mean_std([r['best'] for r in runs])
        # The median: a run that shared the machine (or was paused) does
        # not move it.
        secs = statistics.median(r['seconds'] for r in runs)
        count = params.get(name)
        size = ('n/a' if count is None else
                f'{count["student"]:,} + {count["extra"]:,}')
        # A row still running says how many of its seeds it has.
        planned = len(preset.seeds_of(name, table_seeds(args)))
        seeds = (f'{len(runs)}' if len(runs) >= planned else
                 f'{len(runs)} of {planned}')
        lines.append(f'| {preset.methods[name].label} | {seeds} | '
                     f'{final[0]:.2f} +- {final[1]:.2f} | {best[0]:.2f} +- '
                     f'{best[1]:.2f} | {size} | {secs / 60:.1f} min |')
    teacher = results['teacher']
    if teacher is None:
        lines.append('| teacher (given checkpoint) | | n/a | n/a | n/a | '
                     'n/a |')
    else:
        secs = ('given checkpoint' if teacher['seconds'] is None else
                f'{teacher["seconds"] / 60:.1f} min')
        count = params.get('teacher')
        size = 'n/a' if count is None else f'{count["student"]:,}'
        lines.append(f'| {preset.teacher_label} | | '
                     f'{teacher["final"]:.2f} | {teacher["best"]:.2f} | '
                     f'{size} | {secs} |')
    return '\n'.join(lines)


#: The README's copy of the converged study's table lies between these
#: lines; ``--preset full`` rewrites it whenever it writes the table.
README_BEGIN = ('<!-- study table: written by python tools/ablation.py '
                '--preset full --report-only -->')
README_END = '<!-- end of the study table -->'


def write_readme_section(path: str, text: str) -> bool:
    """Replace what lies between README_BEGIN and README_END in ``path``
    by ``text``; False (and the file untouched) where it has no such
    pair of lines."""
    with open(path) as f:
        readme = f.read()
    begin, end = readme.find(README_BEGIN), readme.find(README_END)
    if begin < 0 or end < begin or readme.count(README_BEGIN) != 1:
        return False
    begin += len(README_BEGIN)
    from projkd_mm.fileio import atomic_write
    atomic_write(path, readme[:begin] + '\n' + text.strip() + '\n' +
                 readme[end:])
    return True


def plot(results: dict, path: str, preset: Preset) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    fig, ax = plt.subplots(figsize=(9, 4.5))
    # 20 distinct colours, then a new line style: no two rows look alike.
    colours = plt.get_cmap('tab20').colors
    styles = ('-', '--', ':', '-.')
    for row, (name, runs) in enumerate(results['methods'].items()):
        curves = [r['curve'] for r in runs]
        length = min(len(c) for c in curves)
        mean = [statistics.mean(c[i] for c in curves) for i in range(length)]
        ax.plot(range(1, length + 1), mean, marker='.',
                color=colours[row % len(colours)],
                linestyle=styles[row // len(colours) % len(styles)],
                label=preset.methods[name].label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel('epoch')
    ax.set_ylabel('top-1 (%), mean over seeds')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


#: The settings that make two studies' runs comparable: results.json keeps
#: the runs of one value of each.
SETTINGS = ('preset', 'train_size', 'epochs', 'full', 'holdout',
            'cfg_options')
#: What --archive-results sets aside: the table and the teacher trained
#: with the earlier settings.
STUDY_FILES = ('results.json', 'teacher.json', 'teacher.pth')


class StudyError(RuntimeError):
    """A work dir whose earlier study cannot be continued as asked."""


def read_results(path: str) -> dict:
    """The study in ``path``, or a StudyError saying why it cannot be
    read."""
    try:
        with open(path) as f:
            results = json.load(f)
        if not (isinstance(results, dict)
                and isinstance(results.get('settings'), dict)
                and isinstance(results.get('methods'), dict)):
            raise ValueError('no "settings" and "methods"')
    except (OSError, ValueError) as err:
        raise StudyError(
            f'{path} cannot be read as a study ({type(err).__name__}: '
            f'{err}): it is truncated or not a results.json tools/'
            'ablation.py wrote. Nothing was changed. Restore it, use '
            'another --work-dir, or pass --archive-results to set it aside '
            'and start a new study here.') from err
    # A study from before presets: the quick one.
    results['settings'].setdefault('preset', 'quick')
    return results


def differing_settings(earlier: dict, now: dict) -> List[str]:
    """'name earlier (now value)' for each setting that differs."""
    return [f'{key} {earlier.get(key)!r} (now {now.get(key)!r})'
            for key in SETTINGS if earlier.get(key) != now.get(key)]


def archive_study(work_dir: str, results_file: Optional[str] = None) -> str:
    """Move the study files of ``work_dir`` (and ``results_file``, where
    it lives elsewhere) into ``work_dir/archive/<time>/``; return that
    folder."""
    folder = osp.join(work_dir, 'archive', time.strftime('%Y%m%d-%H%M%S'))
    base, suffix = folder, 1
    while osp.exists(folder):
        suffix += 1
        folder = f'{base}-{suffix}'
    os.makedirs(folder)
    for name in STUDY_FILES:
        if osp.exists(osp.join(work_dir, name)):
            os.replace(osp.join(work_dir, name), osp.join(folder, name))
    if results_file and osp.exists(results_file):
        os.replace(results_file, osp.join(folder, 'results.json'))
    return folder


def _write_json(obj, path: str, **kwargs) -> None:
    from projkd_mm.fileio import atomic_write
    atomic_write(path, json.dumps(obj, **kwargs))


def table_seeds(args) -> List[int]:
    """The seeds of the whole table: those asked for and, for the full
    preset (the published study, run a few seeds per session), also its
    own five."""
    if args.preset != 'full':
        return list(args.seeds)
    return sorted(set(args.seeds) | set(PRESETS['full'].default_seeds))


def regenerate_command(args) -> str:
    """The command that regenerates the whole table (method order and
    interrupted invocations do not change it)."""
    seeds = ' '.join(map(str, table_seeds(args)))
    if args.preset == 'quick':
        command = (f'python tools/ablation.py --work-dir {args.work_dir} '
                   f'--train-size {args.train_size} --epochs {args.epochs} '
                   f'--seeds {seeds}' + (' --full' if args.full else ''))
    else:
        command = (f'python tools/ablation.py --preset {args.preset} '
                   f'--work-dir {args.work_dir} --seeds {seeds}')
        if args.preset == 'full' and args.epochs != FULL_EPOCHS:
            command += f' --epochs {args.epochs}'
    if args.teacher_ckpt:
        command += f' --teacher-ckpt {shlex.quote(args.teacher_ckpt)}'
    if getattr(args, 'results', None):
        command += f' --results {shlex.quote(args.results)}'
    return (command + (' --holdout' if args.holdout else '') +
            (' --cfg-options ' +
             ' '.join(map(shlex.quote, args.cfg_options))
             if args.cfg_options else ''))


def run_host(threads: int, jobs: int) -> Dict:
    """Where a run ran: CPU model and its vector extensions, torch, and
    the threads and concurrent runs it shared the machine with."""
    import torch

    from projkd_mm.teacher_cache.store import cpu_name
    flags = set()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    flags = set(line.split(':', 1)[1].split())
                    break
    except OSError:
        pass
    return dict(cpu=cpu_name(), avx2='avx2' in flags,
                avx512_bf16='avx512_bf16' in flags, torch=torch.__version__,
                threads=threads, jobs=jobs)


def results_path(args, work_dir: str) -> str:
    """Where the study's results.json is: --results, the preset's file in
    the repository, or the work dir."""
    preset = PRESETS[args.preset]
    given = getattr(args, 'results', None)
    if given:
        return osp.abspath(given)
    if preset.results and not args.holdout and \
            args.epochs in (None, FULL_EPOCHS):
        return osp.join(REPO, preset.results)
    return osp.join(work_dir, 'results.json')


def check_teacher(args, preset: Preset) -> str:
    """Why the teacher of ``args`` may not be used (empty when it may)."""
    if not preset.teacher_ckpt or not args.teacher_ckpt:
        return ''
    if not osp.isfile(args.teacher_ckpt):
        return f'--teacher-ckpt {args.teacher_ckpt} does not exist.'
    if preset.teacher_sha256 is None:
        return ''
    found = sha256(args.teacher_ckpt)
    if found != preset.teacher_sha256 and not args.allow_other_teacher:
        return (f'{args.teacher_ckpt} has SHA-256 {found}, not the '
                f'{args.preset} preset\'s teacher ({preset.teacher_ckpt}, '
                f'{preset.teacher_sha256}): its table would not be the '
                'published one. Pass --allow-other-teacher to use it anyway '
                '(and another --results), or leave --teacher-ckpt out.')
    return ''


def ensure_cache(args, preset: Preset, data_root: str, teacher_ckpt: str,
                 work_dir: str) -> Optional[str]:
    """The teacher cache the distillation runs read, built first when
    missing (tools/cache_teacher.py, over all training images)."""
    from projkd_tools.experiment import loader_options
    if not preset.cache_config or args.no_teacher_cache:
        return None
    cache = osp.abspath(args.teacher_cache or
                        osp.join(work_dir, 'teacher_cache'))
    if osp.isfile(osp.join(cache, 'header.json')):
        print(f'[cache] using {cache}')
        return cache
    options = loader_options(data_root)
    options['model.teacher_ckpt'] = teacher_ckpt
    cmd = [sys.executable, osp.join(REPO, 'tools', 'cache_teacher.py'),
           osp.join(CONFIGS, preset.cache_config), '--out', cache,
           '--cfg-options'] + [f'{k}={v}' for k, v in options.items()]
    print('[cache] building: ' + ' '.join(map(shlex.quote, cmd)))
    import subprocess
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    subprocess.run(cmd, cwd=REPO, env=env, check=True)
    return cache


def run_pending(args, pending: List[Tuple], results: Dict,
                results_file: str, work_dir: str) -> None:
    """Train the runs of ``pending`` (``(method, seed, config, options)``),
    ``args.jobs`` at a time, each with ``args.threads`` torch threads;
    results.json is rewritten after every run that ends."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from projkd_tools.experiment import train_config
    lock = threading.Lock()
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)

    def run(item) -> None:
        name, seed, config, options = item
        # Not in results.json: the run dir, if any, holds an interrupted run
        # or one of other settings. Start it over rather than --resume it:
        # a resume would continue a run of other settings, so the table
        # would mix runs.
        run = train_config(config, osp.join(work_dir, name, f'seed{seed}'),
                           options, label=f'[{name} seed {seed}] ',
                           overwrite=True,
                           env={'OMP_NUM_THREADS': str(threads)})
        with lock:
            results['methods'].setdefault(name, []).append(
                dict(seed=seed, final=run.final, best=run.best,
                     seconds=run.seconds, curve=run.top1,
                     teacher_curve=run.teacher_top1,
                     checkpoint=osp.relpath(run.last_checkpoint, REPO),
                     host=run_host(threads, args.jobs)))
            print(f'[{name} seed {seed}] final {run.final:.2f} best '
                  f'{run.best:.2f} ({run.seconds / 60:.1f} min, {threads} '
                  f'threads, {args.jobs} at a time)', flush=True)
            _write_json(results, results_file, indent=1)

    if args.jobs == 1:
        for item in pending:
            run(item)
        return
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for future in [pool.submit(run, item) for item in pending]:
            future.result()


def run_study(args) -> int:
    """Train what is missing, then write the table, results.json and the
    accuracy curves to ``args.work_dir``."""
    from mmengine.config import Config

    from projkd_mm.datasets import DEBIAN_FASHION_MNIST, prepare_idx_dataset
    from projkd_mm.datasets.idx_files import check_idx_file
    from projkd_mm.utils.export import export_submodel
    from projkd_tools.experiment import train_config
    preset = PRESETS[args.preset]
    default = osp.join(REPO, 'data', 'fashion_mnist')
    data_root = prepare_idx_dataset(
        [args.data_root] if args.data_root else [default,
                                                 DEBIAN_FASHION_MNIST],
        default)
    images = check_idx_file(
        osp.join(data_root, 'train-labels-idx1-ubyte'), 2049)
    refusal = check_train_size(args, images, data_root)
    if refusal:
        print(f'error: {refusal}', file=sys.stderr)
        return 2
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    settings = {k: v for k, v in vars(args).items()
                if k != 'archive_results'}
    results = {'command': regenerate_command(args), 'settings': settings,
               'data_root': data_root, 'methods': {}, 'params': {}}
    results_file = results_path(args, work_dir)
    if osp.isfile(results_file) and getattr(args, 'archive_results', False):
        print(f'--archive-results: the earlier study of {work_dir} is now '
              f'in {archive_study(work_dir, results_file)}')
    elif osp.isfile(results_file):
        # An interrupted or partial study with the same settings: keep its
        # runs and add the missing ones. Runs of other settings are never
        # dropped from it: that is an error with the ways out.
        try:
            earlier = read_results(results_file)
        except StudyError as err:
            print(f'error: {err}', file=sys.stderr)
            return 2
        differ = differing_settings(earlier['settings'], settings)
        if differ:
            print(f'error: {results_file} holds the runs of other settings: '
                  f'{", ".join(differ)}. Results of other settings are '
                  'never dropped from it. To keep both studies, pass '
                  'another --work-dir; to set the earlier one aside and '
                  'start a new one here, pass --archive-results (it moves '
                  f'{", ".join(STUDY_FILES)} to {work_dir}/archive/<time>/;'
                  ' the run folders are trained over). Nothing was '
                  'changed.', file=sys.stderr)
            return 2
        results['methods'] = earlier['methods']
        results['params'] = earlier.get('params', {})
    start = time.time()

    needs_teacher = args.report_only or any(
        'teacher' in Config.fromfile(osp.join(
            CONFIGS, preset.methods[name].config)).model
        for name in args.methods)
    if preset.teacher_ckpt and not args.teacher_ckpt and needs_teacher:
        # The preset's committed teacher: never trained again.
        args.teacher_ckpt = osp.join(REPO, preset.teacher_ckpt)
        if not osp.isfile(args.teacher_ckpt):
            print(f'error: the {args.preset} preset\'s teacher '
                  f'{preset.teacher_ckpt} is not in this checkout. Train '
                  f'it: python tools/train.py configs/projkd/fashion_mnist/'
                  f'{preset.teacher} --cfg-options randomness.seed=0, then '
                  'export it (tools/export_student.py CKPT OUT.pth --prefix '
                  'none --no-config) and pass --teacher-ckpt OUT.pth '
                  '--allow-other-teacher.', file=sys.stderr)
            return 2
    refusal = check_teacher(args, preset)
    if refusal:
        print(f'error: {refusal}', file=sys.stderr)
        return 2
    teacher_ckpt = args.teacher_ckpt or osp.join(work_dir, 'teacher.pth')
    teacher_log = osp.join(work_dir, 'teacher.json')
    if args.report_only:
        if not results['methods']:
            print(f'error: no runs with these settings in {results_file}',
                  file=sys.stderr)
            return 2
        results['teacher'] = (json.load(open(teacher_log))
                              if osp.isfile(teacher_log) else None)
        args.methods = []
    elif preset.teacher_ckpt and not needs_teacher:
        # The student alone (e.g. the schedule search): no teacher at all.
        results['teacher'] = None
    elif args.teacher_ckpt:
        # A given teacher is never retrained or overwritten; its accuracy
        # on this run's validation split is read from the first distillation
        # run, which evaluates the teacher too.
        if not osp.isfile(args.teacher_ckpt):
            print(f'error: --teacher-ckpt {args.teacher_ckpt} does not exist',
                  file=sys.stderr)
            return 2
        results['teacher'] = None
        print(f'[teacher] using {teacher_ckpt}')
    elif osp.isfile(teacher_ckpt) and osp.isfile(teacher_log):
        results['teacher'] = json.load(open(teacher_log))
        print(f'[teacher] reusing {teacher_ckpt}')
    else:
        # A teacher run without teacher.pth and teacher.json never finished
        # (or its export did not): it is started over, like the runs below.
        run = train_config(osp.join(CONFIGS, preset.teacher),
                           osp.join(work_dir, 'teacher'),
                           run_options(args, data_root, 0, images),
                           label='[teacher] ', overwrite=True)
        export_submodel(run.last_checkpoint, teacher_ckpt, prefix=None)
        results['teacher'] = dict(final=run.final, best=run.best,
                                  seconds=run.seconds, curve=run.top1,
                                  sha256=sha256(teacher_ckpt))
        _write_json(results['teacher'], teacher_log)
    teacher_sha = sha256(teacher_ckpt) if osp.isfile(teacher_ckpt) else None
    if results['teacher'] is not None and teacher_sha:
        results['teacher'].setdefault('sha256', teacher_sha)
    cache = (ensure_cache(args, preset, data_root, teacher_ckpt, work_dir)
             if args.methods and needs_teacher else None)

    pending = []
    for name in args.methods:
        method = preset.methods[name]
        config = osp.join(CONFIGS, method.config)
        if name not in results['params']:
            results['params'][name] = count_parameters(config,
                                                       method.options)
        for seed in preset.seeds_of(name, args.seeds):
            if any(r['seed'] == seed
                   for r in results['methods'].get(name, [])):
                print(f'[{name} seed {seed}] done earlier, kept')
                continue
            # The row's own options first: those of the study (and
            # --cfg-options) apply to every row alike.
            options = dict(method.options)
            options.update(run_options(args, data_root, seed, images))
            if results['params'][name].get('teacher') is not None:
                options['model.teacher_ckpt'] = teacher_ckpt
                if cache:
                    options['model.teacher_cache'] = cache
            pending.append((name, seed, config, options))
    run_pending(args, pending, results, results_file, work_dir)
    if 'teacher' not in results['params']:
        results['params']['teacher'] = count_parameters(
            osp.join(CONFIGS, preset.teacher))

    results['methods'] = {name: results['methods'][name]
                          for name in preset.methods
                          if name in results['methods']}
    if results['teacher'] is None:
        results['teacher'] = teacher_from_runs(results['methods'])
        if results['teacher'] is not None and teacher_sha:
            results['teacher']['sha256'] = teacher_sha
    markdown = table(results, args, preset)
    if preset.claims:
        claims, results['claims'] = claims_table(results, preset)
        goal, results['goal'] = goal_check(results, preset)
        if args.holdout:
            goal = ('On the held-out validation split, not the test set '
                    'the goal is defined on: ' + goal)
        markdown += (
            f'\n\nPaired comparisons of final-epoch {split_name(args)} '
            'top-1 (same '
            'seed, same data order; 95 % interval: t over the seeds, n - 1 '
            'degrees of freedom). Verdict: held when the interval lies above '
            f'0 (for "=": inside +-{EQUIVALENCE} points), not held when it '
            'lies on the other side, inconclusive otherwise.\n\n' + claims +
            '\n\n' + goal)
    size = train_size(args, images)
    done = ', '.join(f'{preset.methods[n].label}: seeds '
                     f'{[r["seed"] for r in runs]}'
                     for n, runs in results['methods'].items())
    schedule = ('the epochs of each config' if args.preset == 'short' else
                f'a cosine schedule of {args.epochs} epochs'
                if args.preset == 'full' else f'{args.epochs} epochs')
    runs = [r for rs in results['methods'].values() for r in rs]
    cpus = sorted({r['host']['cpu'] for r in runs if 'host' in r})
    total = (f' {len(runs)} runs, {sum(r["seconds"] for r in runs) / 3600:.2f}'
             f' h of training in all' + (f' (on {", ".join(cpus)})'
                                         if cpus else '') + '.')
    teacher_hash = (results['teacher'] or {}).get('sha256')
    header = (f'Fashion-MNIST ({args.preset} setting), {size} training '
              f'images, {schedule}; mean +- std over seeds ({done}).' +
              total +
              (f' Teacher checkpoint SHA-256: `{teacher_hash}`.'
               if teacher_hash else '') +
              f'\nCommand: `{results["command"]}`\n\n')
    if not args.report_only:
        _write_json(results, results_file, indent=1)
    if osp.dirname(results_file) == work_dir:
        report = osp.join(work_dir, 'results.md')
        curves = osp.join(work_dir, 'accuracy_curves.png')
    else:  # beside a results file kept in the repository
        report = osp.splitext(results_file)[0] + '.md'
        curves = osp.splitext(results_file)[0] + '.png'
    with open(report, 'w') as f:
        f.write(header + markdown + '\n')
    if preset.results and results_file == osp.join(REPO, preset.results):
        # The published study: the README shows its table too.
        summary = (
            f'Fashion-MNIST, {size:,} training images, {schedule}, top-1 on '
            f'the 10,000 test images, mean +- std over seeds;{total} '
            f'Regenerate: `{results["command"]}` (`--report-only` rewrites '
            'this from the results file).\n\n')
        readme = osp.join(REPO, 'README.md')
        if not write_readme_section(readme, summary + markdown):
            print(f'warning: {readme} has no "{README_BEGIN}" ... '
                  f'"{README_END}" lines: its table was not updated.')
    plot(results, curves, preset)
    print('\n' + header + markdown)
    print(f'\nResults: {results_file}, {report}, {curves} '
          f'({(time.time() - start) / 60:.0f} min)')
    return 0
