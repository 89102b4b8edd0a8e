"""The paper's ablation on Fashion-MNIST, 3 seeds per method.

    python tools/ablation.py [--work-dir work_dirs/ablation] [--seeds 0 1 2]
        [--train-size 10000] [--epochs 10] [--full] [--holdout]
        [--methods NAME ...] [--data-root DIR]

Methods (configs/projkd/fashion_mnist/): student alone (CE), logit KD,
direct normalised feature matching without projector, one projector,
ensembles of 2, 3 and 4, ensemble of 3 + logit KD. One teacher is trained
first (seed 0) and shared by every method and seed.

Default (reduced): 10,000 training images, 10 epochs, about an hour on 2
CPU cores. --full: all 50,000 non-held-out training images. --holdout:
validate on the last 10,000 training images instead of the test set: use it
for any tuning; the test set is only for the final table. Writes
results.json, results.md and accuracy_curves.png to the work dir; run it
again with the same settings to add missing methods or seeds (runs already
in results.json are kept; a run that is not in it, one interrupted say, is
started over from scratch with tools/train.py --overwrite).
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
    DEFAULT_METHODS,
    METHODS,
    TRAIN_POOL,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument('--data-root', help='Fashion-MNIST idx folder')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--train-size', type=int, default=10000)
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--full', action='store_true',
                        help=f'train on all {TRAIN_POOL} non-held-out images')
    parser.add_argument('--holdout', action='store_true',
                        help='validate on the held-out last 10,000 training '
                        'images (for tuning), not on the test set')
    parser.add_argument('--methods', nargs='+', choices=list(METHODS),
                        default=DEFAULT_METHODS)
    parser.add_argument('--teacher-ckpt',
                        help='reuse this teacher instead of training one')
    parser.add_argument('--report-only', action='store_true',
                        help='train nothing: write the table of the runs '
                        'already in results.json')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='extra key=value overrides for every student run')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from projkd_tools.study import run_study
    return run_study(args)


if __name__ == '__main__':
    sys.exit(main())
