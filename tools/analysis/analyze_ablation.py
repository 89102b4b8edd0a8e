"""Feature similarity of every student of an ablation run.

    python tools/analysis/analyze_ablation.py [--work-dir work_dirs/ablation]
        [--results RESULTS.json] [--figures FIGURES.json]
        [--methods student noproj ens1 ens3 ...] [--reuse]

For each method and seed of ``tools/ablation.py``'s results.json, runs
``tools/analysis/feature_similarity.py`` on the final checkpoint (train
split = the images that student trained on, test split = the test set) and
writes ``--figures`` (default ``<work-dir>/similarity.json``: every run's
figures, rewritten after each checkpoint) and beside it the table
``similarity.md`` (mean +- std over seeds of linear CKA to the teacher, test
top-1, train-test gap and test ECE) and the plot ``similarity.png``. With
``--reuse`` a run found in the figures file (or in its
``feature_similarity.json``) is not measured again, and needs no
checkpoint: commit the figures file beside a study's results and the table
is rebuilt on any machine.
"""
import argparse
import importlib.util
import json
import os.path as osp
import statistics
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
# torch, mmengine and projkd_mm are imported after parse_args(), so --help
# and argument errors answer at once.

CONFIGS = osp.join(REPO, 'configs', 'projkd', 'fashion_mnist')


def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO, 'tools', 'analysis', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument('--results',
                        help='the study\'s results file (default: '
                        'WORK_DIR/results.json; the full preset keeps it in '
                        'docs/results/study_fashion_mnist.json)')
    parser.add_argument('--methods', nargs='+',
                        help='default: every method in results.json')
    parser.add_argument('--reuse', action='store_true',
                        help='take the runs measured before (from '
                        '--figures, else their feature_similarity.json) '
                        'instead of measuring them again')
    parser.add_argument('--figures',
                        help='JSON file of every run\'s figures, rewritten '
                        'after each checkpoint and read by --reuse; the '
                        'table (.md) and plot (.png) go beside it '
                        '(default: WORK_DIR/similarity.json)')
    return parser.parse_args(argv)


def portable(value):
    """``value`` with the paths inside the repository made relative to it,
    so a committed figures file names no machine's folders."""
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, str) and osp.isabs(value) and \
            value.startswith(REPO + osp.sep):
        return osp.relpath(value, REPO)
    return value


def load_figures(path: str) -> dict:
    """``{method: {seed: figures}}`` of the runs measured before."""
    if not osp.isfile(path):
        return {}
    with open(path) as f:
        stored = json.load(f)
    return {name: {int(seed): figures for seed, figures in runs.items()}
            for name, runs in stored['runs'].items()}


def plot(rows: dict, labels: dict, teacher: dict, path: str) -> None:
    """Mean +- std over seeds of each figure, one bar per method."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    panels = [
        ('linear CKA to the teacher (test)',
         lambda f: f['splits']['test']['cka'], 1.0),
        ('train-test top-1 gap (pp)',
         lambda f: f['student_train_test_gap'],
         teacher['student_train_test_gap']),
        ('test top-1 (%)', lambda f: f['splits']['test']['student_top1'],
         teacher['splits']['test']['student_top1']),
        ('test ECE (%)', lambda f: 100 * f['splits']['test']['student_ece'],
         100 * teacher['splits']['test']['student_ece']),
    ]
    names = list(rows)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for ax, (title, get, teacher_value) in zip(axes.flat, panels):
        values = [[get(f) for f in rows[n]] for n in names]
        means = [statistics.mean(v) for v in values]
        stds = [statistics.stdev(v) if len(v) > 1 else 0.0 for v in values]
        ax.bar(range(len(names)), means, yerr=stds, capsize=3,
               color='tab:blue')
        ax.axhline(teacher_value, color='tab:red', ls='--', lw=1,
                   label='teacher')
        low = min(m - s for m, s in zip(means, stds))
        high = max([m + s for m, s in zip(means, stds)] + [teacher_value])
        pad = 0.15 * (high - low) or 0.01
        ax.set_ylim(low - pad, high + pad)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([labels[n] for n in names], rotation=30,
                           ha='right', fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.grid(axis='y', alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle('Ablation students: mean +- std over seeds', fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> str:
    args = parse_args(argv)
    sys.path.insert(0, osp.join(REPO, 'tools'))
    from projkd_tools.experiment import loader_options
    from projkd_tools.study import PRESETS, TRAIN_POOL
    similarity = load_tool('feature_similarity')
    results = json.load(open(args.results or
                             osp.join(args.work_dir, 'results.json')))
    settings = results['settings']
    # Studies written before presets existed are of the quick setting.
    preset = PRESETS[settings.get('preset') or 'quick']
    # The study's teacher: the one it was given, the preset's committed
    # one (the full preset), or the one it trained.
    if settings.get('teacher_ckpt'):
        teacher_ckpt = settings['teacher_ckpt']
    elif preset.teacher_ckpt:
        teacher_ckpt = osp.join(REPO, preset.teacher_ckpt)
    else:
        teacher_ckpt = osp.join(args.work_dir, 'teacher.pth')
    methods = preset.methods
    if preset.name != 'quick':
        # The images the students trained on: all 60,000 (50,000 with
        # --holdout).
        size = TRAIN_POOL if settings['holdout'] else None
    else:
        size = TRAIN_POOL if settings['full'] else settings['train_size']
    options = loader_options(results['data_root'], size)
    from projkd_mm.fileio import atomic_write
    figures_file = args.figures or osp.join(args.work_dir, 'similarity.json')
    stored = load_figures(figures_file)
    rows = {}
    for name in args.methods or list(results['methods']):
        method = methods[name]
        config = osp.join(CONFIGS, method.config)
        for run in results['methods'][name]:
            out_dir = osp.join(args.work_dir, 'similarity', name,
                               f'seed{run["seed"]}')
            # Checkpoints are recorded relative to the repository (full
            # preset) or absolute (older studies).
            argv_tool = [config, osp.join(REPO, run['checkpoint']),
                         '--split', 'both', '--out-dir', out_dir,
                         '--teacher-ckpt', teacher_ckpt]
            if name.endswith('student'):
                # A student trained alone: its config has no teacher.
                argv_tool += ['--teacher-config',
                              osp.join(CONFIGS, preset.teacher)]
            argv_tool.append('--cfg-options')
            argv_tool += [f'{k}={v}' for k, v in {**method.options,
                                                   **options}.items()]
            measured = osp.join(out_dir, 'feature_similarity.json')
            if args.reuse and run['seed'] in stored.get(name, {}):
                figures = stored[name][run['seed']]
            elif args.reuse and osp.isfile(measured):
                figures = json.load(open(measured))
            else:
                checkpoint = osp.join(REPO, run['checkpoint'])
                if not osp.isfile(checkpoint):
                    raise SystemExit(
                        f'{name} seed {run["seed"]}: checkpoint {checkpoint} '
                        f'does not exist and {figures_file} holds no '
                        'figures of this run. Pass --figures with the file '
                        'that holds them (and --reuse), or retrain the run.')
                figures = similarity.main(argv_tool)
            rows.setdefault(name, []).append(figures)
            figures = portable(figures)
            if stored.get(name, {}).get(run['seed']) != figures:
                stored.setdefault(name, {})[run['seed']] = figures
                atomic_write(figures_file, json.dumps(
                    dict(results=portable(args.results or osp.join(
                        args.work_dir, 'results.json')),
                         runs=stored), indent=1, sort_keys=True) + '\n')

    def cell(values, scale=1.0, digits=2):
        mean = statistics.mean(values) * scale
        std = (statistics.stdev(values) * scale) if len(values) > 1 else 0.0
        return f'{mean:.{digits}f} +- {std:.{digits}f}'

    lines = ['| method | CKA to teacher (test) | test top-1 | '
             'train-test gap (pp) | test ECE (%) |', '|---|---|---|---|---|']
    for name, figures in rows.items():
        test = [f['splits']['test'] for f in figures]
        lines.append(
            f'| {methods[name].label} | '
            f'{cell([t["cka"] for t in test], digits=3)} | '
            f'{cell([t["student_top1"] for t in test])} | '
            f'{cell([f["student_train_test_gap"] for f in figures])} | '
            f'{cell([t["student_ece"] for t in test], 100)} |')
    # Every run measured the same teacher on the same images.
    first = next(iter(rows.values()))[0]
    lines.append(
        f'| {preset.teacher_label} | 1 | '
        f'{first["splits"]["test"]["teacher_top1"]:.2f} | '
        f'{first["teacher_train_test_gap"]:.2f} | '
        f'{first["splits"]["test"]["teacher_ece"] * 100:.2f} |')
    table = '\n'.join(lines)
    images = 60000 if size is None else size
    header = (f'Feature similarity of the ablation students ({preset.name} '
              f'setting, {images} training images; mean +- std over seeds). '
              'Command: '
              f'`python tools/analysis/analyze_ablation.py --work-dir '
              f'{args.work_dir}'
              + (f' --results {args.results}' if args.results else '')
              + (f' --figures {args.figures}' if args.figures else '')
              + (f' --methods {" ".join(args.methods)}' if args.methods
                 else '') + '`\n\n')
    stem = osp.splitext(figures_file)[0]
    with open(stem + '.md', 'w') as f:
        f.write(header + table + '\n')
    # The teacher's own figures, in the layout of a student's.
    teacher = dict(
        student_train_test_gap=first['teacher_train_test_gap'],
        splits=dict(test=dict(
            student_top1=first['splits']['test']['teacher_top1'],
            student_ece=first['splits']['test']['teacher_ece'])))
    plot(rows, {n: methods[n].label for n in methods}, teacher,
         stem + '.png')
    print(header + table)
    return table


if __name__ == '__main__':
    main()
