"""The Fashion-MNIST ablation study of tools/ablation.py.

Every run is a fresh tools/train.py process (:mod:`projkd_tools.experiment`);
results.json is rewritten (atomically) after each run, so a study resumes
across sessions: runs already in it are kept, the others are started over.
"""
import json
import os
import os.path as osp
import statistics
import sys
import time

from projkd_tools.experiment import REPO

CONFIGS = osp.join(REPO, 'configs', 'projkd', 'fashion_mnist')
TEACHER = 'resnet14_10e_fmnist.py'
# name -> (config, description); the order of the table.
METHODS = {
    'student': ('resnet8_10e_fmnist.py', 'student alone (CE)'),
    'kd': ('kd_resnet14_resnet8_10e_fmnist.py', 'logit KD (T=4)'),
    'noproj': ('pefd_noproj_resnet14_resnet8_10e_fmnist.py',
               'feature matching, no projector'),
    'ens1': ('pefd_ens1_resnet14_resnet8_10e_fmnist.py', 'one projector'),
    'ens2': ('pefd_ens2_resnet14_resnet8_10e_fmnist.py', 'ensemble q=2'),
    'ens3': ('pefd_ens3_resnet14_resnet8_10e_fmnist.py', 'ensemble q=3'),
    'ens4': ('pefd_ens4_resnet14_resnet8_10e_fmnist.py', 'ensemble q=4'),
    'ens3_kd': ('pefd_ens3_kd_resnet14_resnet8_10e_fmnist.py',
                'ensemble q=3 + logit KD'),
    # The teacher's precision (the rows above: model.teacher_dtype='auto').
    'ens3_fp32teacher': (
        'pefd_ens3_fp32teacher_resnet14_resnet8_10e_fmnist.py',
        'ensemble q=3, teacher fp32'),
    'ens3_bf16teacher': (
        'pefd_ens3_bf16teacher_resnet14_resnet8_10e_fmnist.py',
        'ensemble q=3, teacher bf16 + channels_last'),
}
# What a plain `tools/ablation.py` runs: the paper's claims.
DEFAULT_METHODS = ['student', 'kd', 'noproj', 'ens1', 'ens2', 'ens3', 'ens4',
                   'ens3_kd']
# The first 50,000 training images are for training; the last 10,000 are
# the held-out validation split of --holdout, never trained on.
TRAIN_POOL = 50000


def run_options(args, data_root: str, seed: int) -> dict:
    from projkd_tools.experiment import loader_options
    size = TRAIN_POOL if args.full else args.train_size
    options = loader_options(data_root, list(range(size)) if args.holdout
                             else size)
    if args.holdout:
        held_out = list(range(TRAIN_POOL, TRAIN_POOL + 10000))
        options.update({
            'val_dataloader.dataset.split': 'train',
            'val_dataloader.dataset.test_mode': False,
            'val_dataloader.dataset.indices': held_out,
        })
    epochs = args.epochs
    options.update({
        'train_cfg.max_epochs': epochs,
        'param_scheduler.milestones': [max(1, round(epochs * 0.6)),
                                       max(1, round(epochs * 0.8))],
        'randomness.seed': seed,
    })
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


def table(results: dict, args) -> str:
    split = 'held-out validation' if args.holdout else 'test'
    lines = [
        f'| method | final top-1 ({split}) | best-epoch top-1 | '
        'time / run |', '|---|---|---|---|'
    ]
    for name, runs in results['methods'].items():
        final = mean_std([r['final'] for r in runs])
        best = mean_std([r['best'] for r in runs])
        secs = statistics.mean(r['seconds'] for r in runs)
        lines.append(f'| {METHODS[name][1]} | {final[0]:.2f} +- '
                     f'{final[1]:.2f} | {best[0]:.2f} +- {best[1]:.2f} | '
                     f'{secs / 60:.1f} min |')
    teacher = results['teacher']
    if teacher is None:
        lines.append('| teacher (given checkpoint) | n/a | n/a | n/a |')
    else:
        secs = ('given checkpoint' if teacher['seconds'] is None else
                f'{teacher["seconds"] / 60:.1f} min')
        lines.append(f'| teacher ResNet-14 (reference) | '
                     f'{teacher["final"]:.2f} | {teacher["best"]:.2f} | '
                     f'{secs} |')
    return '\n'.join(lines)


def plot(results: dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, runs in results['methods'].items():
        curves = [r['curve'] for r in runs]
        length = min(len(c) for c in curves)
        mean = [statistics.mean(c[i] for c in curves) for i in range(length)]
        ax.plot(range(1, length + 1), mean, marker='.', label=METHODS[name][1])
    ax.set_xlabel('epoch')
    ax.set_ylabel('top-1 (%), mean over seeds')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _write_json(obj, path: str, **kwargs) -> None:
    from projkd_mm.fileio import atomic_write
    atomic_write(path, json.dumps(obj, **kwargs))


def run_study(args) -> int:
    """Train what is missing, then write the table, results.json and the
    accuracy curves to ``args.work_dir``."""
    from projkd_mm.datasets import DEBIAN_FASHION_MNIST, prepare_idx_dataset
    from projkd_mm.utils.export import export_submodel
    from projkd_tools.experiment import train_config
    default = osp.join(REPO, 'data', 'fashion_mnist')
    data_root = prepare_idx_dataset(
        [args.data_root] if args.data_root else [default,
                                                 DEBIAN_FASHION_MNIST],
        default)
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    # The command that regenerates the whole table (method order and
    # interrupted invocations do not change it).
    command = (f'python tools/ablation.py --work-dir {args.work_dir} '
               f'--train-size {args.train_size} --epochs {args.epochs} '
               f'--seeds {" ".join(map(str, args.seeds))}' +
               (' --full' if args.full else '') +
               (' --holdout' if args.holdout else '') +
               (' --cfg-options ' + ' '.join(args.cfg_options)
                if args.cfg_options else ''))
    results = {'command': command, 'settings': vars(args),
               'data_root': data_root, 'methods': {}}
    results_file = osp.join(work_dir, 'results.json')
    same = ('train_size', 'epochs', 'full', 'holdout', 'cfg_options')
    if osp.isfile(results_file):
        # An interrupted or partial study with the same settings: keep its
        # runs and add the missing ones.
        earlier = json.load(open(results_file))
        if all(earlier['settings'][k] == results['settings'][k]
               for k in same):
            results['methods'] = earlier['methods']
    start = time.time()

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
        run = train_config(osp.join(CONFIGS, TEACHER),
                           osp.join(work_dir, 'teacher'),
                           run_options(args, data_root, 0),
                           label='[teacher] ', overwrite=True)
        export_submodel(run.last_checkpoint, teacher_ckpt, prefix=None)
        results['teacher'] = dict(final=run.final, best=run.best,
                                  seconds=run.seconds, curve=run.top1)
        _write_json(results['teacher'], teacher_log)

    for name in args.methods:
        config = osp.join(CONFIGS, METHODS[name][0])
        for seed in args.seeds:
            if any(r['seed'] == seed
                   for r in results['methods'].get(name, [])):
                print(f'[{name} seed {seed}] done earlier, kept')
                continue
            options = run_options(args, data_root, seed)
            if name != 'student':
                options['model.teacher_ckpt'] = teacher_ckpt
            # Not in results.json: the run dir, if any, holds an interrupted
            # run or one of other settings (results.json of other settings
            # is not kept). Start it over rather than --resume it: a resume
            # is inexact with the configs' persistent data workers and would
            # continue a run of other settings, so the table would mix runs.
            run = train_config(config, osp.join(work_dir, name,
                                                f'seed{seed}'), options,
                               label=f'[{name} seed {seed}] ',
                               overwrite=True)
            results['methods'].setdefault(name, []).append(
                dict(seed=seed, final=run.final, best=run.best,
                     seconds=run.seconds, curve=run.top1,
                     teacher_curve=run.teacher_top1,
                     checkpoint=run.last_checkpoint))
            print(f'[{name} seed {seed}] final {run.final:.2f} best '
                  f'{run.best:.2f} ({run.seconds / 60:.1f} min)')
            _write_json(results, results_file, indent=1)

    results['methods'] = {name: results['methods'][name] for name in METHODS
                          if name in results['methods']}
    if results['teacher'] is None:
        results['teacher'] = teacher_from_runs(results['methods'])
    markdown = table(results, args)
    size = TRAIN_POOL if args.full else args.train_size
    done = ', '.join(f'{METHODS[n][1]}: seeds '
                     f'{[r["seed"] for r in runs]}'
                     for n, runs in results['methods'].items())
    header = (f'Fashion-MNIST, {size} training images, {args.epochs} epochs; '
              f'mean +- std over seeds ({done}).\n'
              f'Command: `{results["command"]}`\n\n')
    if not args.report_only:
        _write_json(results, results_file, indent=1)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(header + markdown + '\n')
    plot(results, osp.join(work_dir, 'accuracy_curves.png'))
    print('\n' + header + markdown)
    print(f'\nResults: {work_dir}/results.md, results.json, '
          f'accuracy_curves.png ({(time.time() - start) / 60:.0f} min)')
    return 0
