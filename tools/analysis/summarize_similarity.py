"""Compare several feature_similarity.json files in one table and figure.

    python tools/analysis/summarize_similarity.py JSON [JSON ...]
        [--labels NAME ...] [--out-dir DIR]

One JSON per method, e.g. the students of the ablation without projector,
with one projector and with the ensemble of three, each written by
``tools/analysis/feature_similarity.py --split both``. Writes
``<out-dir>/similarity_summary.md`` (a markdown table, also printed) and
``<out-dir>/similarity_summary.png`` (CKA to the teacher, train-test gap
and test top-1 side by side). The paper's claim reads as: a higher CKA
comes with a larger gap and a lower test top-1.
"""
import argparse
import json
import os
import os.path as osp
from typing import List, Optional

# (header, JSON split or None for top level, key, scale, format)
COLUMNS = [
    ('CKA test', 'test', 'cka', 1, '.4f'),
    ('CKA train', 'train', 'cka', 1, '.4f'),
    ('student top-1 test (%)', 'test', 'student_top1', 1, '.2f'),
    ('student top-1 train (%)', 'train', 'student_top1', 1, '.2f'),
    ('train-test gap (pp)', None, 'student_train_test_gap', 1, '.2f'),
    ('student ECE test (%)', 'test', 'student_ece', 100, '.2f'),
    ('teacher top-1 test (%)', 'test', 'teacher_top1', 1, '.2f'),
    ('N test', 'test', 'num_samples', 1, 'd'),
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Table and figure comparing feature_similarity.json '
        'files of several methods')
    parser.add_argument('jsons', nargs='+', help='feature_similarity.json '
                        'files, one per method')
    parser.add_argument(
        '--labels',
        nargs='+',
        help='method names, one per JSON; default: the config file names')
    parser.add_argument(
        '--out-dir',
        default=osp.join('work_dirs', 'analysis'),
        help='where similarity_summary.md/.png go (default: %(default)s)')
    args = parser.parse_args(argv)
    if args.labels and len(args.labels) != len(args.jsons):
        parser.error(f'--labels has {len(args.labels)} names for '
                     f'{len(args.jsons)} JSON files')
    return args


def value(result: dict, split: Optional[str], key: str):
    """A figure of a result, or None when that split was not measured."""
    source = result if split is None else result['splits'].get(split, {})
    return source.get(key)


def markdown_table(labels: List[str], results: List[dict]) -> str:
    lines = [
        '| method | ' + ' | '.join(c[0] for c in COLUMNS) + ' |',
        '|---|' + '---:|' * len(COLUMNS),
    ]
    for label, result in zip(labels, results):
        cells = []
        for _, split, key, scale, fmt in COLUMNS:
            v = value(result, split, key)
            cells.append('-' if v is None else format(v * scale, fmt))
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def plot(labels: List[str], results: List[dict], path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    panels = [('linear CKA to the teacher (test)', 'test', 'cka', '.3f'),
              ('student train-test top-1 gap (pp)', None,
               'student_train_test_gap', '.2f'),
              ('student test top-1 (%)', 'test', 'student_top1', '.2f')]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(3 + 1.5 * len(labels) * len(panels), 4))
    for ax, (title, split, key, fmt) in zip(axes, panels):
        values = [value(r, split, key) for r in results]
        xs = [i for i, v in enumerate(values) if v is not None]
        ax.bar(xs, [values[i] for i in xs], color='tab:blue')
        for i in xs:
            ax.text(i, values[i], format(values[i], fmt), ha='center',
                    va='bottom' if values[i] >= 0 else 'top')
        ax.axhline(0, color='black', linewidth=0.8)
        ax.set_xticks(range(len(labels)), labels, rotation=20, ha='right')
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> str:
    args = parse_args(argv)
    results = []
    for path in args.jsons:
        if not osp.isfile(path):
            raise SystemExit(f'summarize_similarity.py: error: {path!r} does '
                             'not exist.')
        with open(path) as f:
            result = json.load(f)
        if 'splits' not in result:
            raise SystemExit(
                f'summarize_similarity.py: error: {path!r} is not a '
                'feature_similarity.json (no "splits" entry).')
        results.append(result)
    labels = args.labels or [
        osp.splitext(osp.basename(r['config']))[0] for r in results
    ]
    table = markdown_table(labels, results)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'similarity_summary.md'), 'w') as f:
        f.write(table)
    plot(labels, results, osp.join(args.out_dir, 'similarity_summary.png'))
    print(table, end='')
    return table


if __name__ == '__main__':
    main()
