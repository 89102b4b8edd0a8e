"""Does a student distilled from a teacher cache score what one distilled
from the online teacher scores? Paired over seeds.

    python tools/ablation.py --preset short --methods ens3 --seeds 10 20 30 \\
        --teacher-ckpt T.pth --work-dir work_dirs/cache_acc/online
    python tools/ablation.py --preset short --methods ens3 --seeds 10 20 30 \\
        --teacher-ckpt T.pth --work-dir work_dirs/cache_acc/cached \\
        --cfg-options model.teacher_cache=CACHE
    python benchmarks/teacher_cache_accuracy.py \\
        work_dirs/cache_acc/online/results.json \\
        work_dirs/cache_acc/cached/results.json

Prints each study's final test top-1 per seed, mean and std, and the paired
difference cached - online with its 95 % t interval (scipy), and the mean
wall time of a run of each.
"""
import argparse
import json
import statistics
import sys
from os import path as osp

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.append(osp.join(REPO, 'tools'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('online', help='results.json of the online study')
    parser.add_argument('cached', help='results.json of the cached study')
    parser.add_argument('--method', default='ens3')
    args = parser.parse_args()
    from projkd_tools.study import paired
    runs = {}
    for name in ('online', 'cached'):
        with open(getattr(args, name)) as f:
            runs[name] = json.load(f)['methods'][args.method]
    for name, rows in runs.items():
        finals = [r['final'] for r in rows]
        print(f'{name}.seeds=' + ','.join(str(r['seed']) for r in rows))
        print(f'{name}.final=' + ','.join(f'{v:.2f}' for v in finals))
        print(f'{name}.mean={statistics.mean(finals):.3f}')
        print(f'{name}.std={statistics.stdev(finals):.3f}')
        print(f'{name}.minutes_per_run='
              f'{statistics.mean(r["seconds"] for r in rows) / 60:.2f}')
    diff = paired({'methods': runs}, 'cached', 'online')
    print(f'cached_minus_online.mean={diff["mean"]:+.3f}')
    print(f'cached_minus_online.ci95=[{diff["low"]:+.3f},'
          f'{diff["high"]:+.3f}]')
    print(f'cached_minus_online.seeds={len(diff["seeds"])}')


if __name__ == '__main__':
    main()
