"""Feature similarity of every student of an ablation run.

    python tools/analysis/analyze_ablation.py [--work-dir work_dirs/ablation]
        [--methods student noproj ens1 ens3 ...]

For each method and seed of ``tools/ablation.py``'s results.json, runs
``tools/analysis/feature_similarity.py`` on the final checkpoint (train
split = the images that student trained on, test split = the test set) and
writes ``<work-dir>/similarity.md`` (mean +- std over seeds of linear CKA
to the teacher, test top-1, train-test gap and test ECE) and
``<work-dir>/similarity.png``.
"""
import argparse
import importlib.util
import json
import os.path as osp
import statistics
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from projkd_mm.engine.experiment import loader_options  # noqa: E402

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
    parser.add_argument('--methods', nargs='+',
                        help='default: every method in results.json')
    return parser.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    similarity = load_tool('feature_similarity')
    sys.path.insert(0, osp.join(REPO, 'tools'))
    from ablation import METHODS, TEACHER, TRAIN_POOL
    results = json.load(open(osp.join(args.work_dir, 'results.json')))
    settings = results['settings']
    size = TRAIN_POOL if settings['full'] else settings['train_size']
    options = loader_options(results['data_root'], size)
    rows = {}
    for name in args.methods or list(results['methods']):
        config = osp.join(CONFIGS, METHODS[name][0])
        for run in results['methods'][name]:
            out_dir = osp.join(args.work_dir, 'similarity', name,
                               f'seed{run["seed"]}')
            argv_tool = [config, run['checkpoint'], '--split', 'both',
                         '--out-dir', out_dir,
                         '--teacher-ckpt', osp.join(args.work_dir,
                                                    'teacher.pth')]
            if name == 'student':
                argv_tool += ['--teacher-config', osp.join(CONFIGS, TEACHER)]
            argv_tool.append('--cfg-options')
            argv_tool += [f'{k}={v}' for k, v in options.items()]
            figures = similarity.main(argv_tool)
            rows.setdefault(name, []).append(figures)

    def cell(values, scale=1.0):
        mean = statistics.mean(values) * scale
        std = (statistics.stdev(values) * scale) if len(values) > 1 else 0.0
        return f'{mean:.3f} +- {std:.3f}' if scale == 1.0 else \
            f'{mean:.2f} +- {std:.2f}'

    lines = ['| method | CKA to teacher (test) | test top-1 | '
             'train-test gap (pp) | test ECE (%) |', '|---|---|---|---|---|']
    for name, figures in rows.items():
        test = [f['splits']['test'] for f in figures]
        lines.append(
            f'| {METHODS[name][1]} | {cell([t["cka"] for t in test])} | '
            f'{cell([t["student_top1"] for t in test], 1)} | '
            f'{cell([f["student_train_test_gap"] for f in figures], 1)} | '
            f'{cell([t["student_ece"] for t in test], 100)} |')
    table = '\n'.join(lines)
    header = (f'Feature similarity of the ablation students ({size} '
              'training images; mean +- std over seeds). Command: '
              f'`python tools/analysis/analyze_ablation.py --work-dir '
              f'{args.work_dir}`\n\n')
    with open(osp.join(args.work_dir, 'similarity.md'), 'w') as f:
        f.write(header + table + '\n')
    summarize = load_tool('summarize_similarity')
    seed0 = [osp.join(args.work_dir, 'similarity', name, 'seed' +
                      str(results['methods'][name][0]['seed']),
                      'feature_similarity.json') for name in rows]
    summarize.main(seed0 + ['--labels'] + [METHODS[n][1] for n in rows] +
                   ['--out-dir', args.work_dir])
    print(header + table)
    return table


if __name__ == '__main__':
    main()
