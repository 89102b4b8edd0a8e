"""The Fashion-MNIST training batch: mmpretrain's RandomCrop + RandomFlip
vs projkd_mm's RandomPadCropFlip, alone and in the student's training step.

The Fashion-MNIST configs load in the training process (``num_workers=0``),
so the pipeline's time is time of every step. Four variants run
round-robin (see :mod:`common`), each on the same 128 random training
indices per round under the same NumPy seed:

- ``pair_batch`` / ``fused_batch``: ``dataset[i]`` for the batch's indices
  (``RandomCrop(28, padding=2)`` + ``RandomFlip(0.5)`` + ``PackInputs``,
  or ``RandomPadCropFlip(28, padding=2)`` + ``PackInputs``), then
  MMEngine's ``pseudo_collate``;
- ``pair_step`` / ``fused_step``: that batch, then the student's training
  step (ResNet-8 of ``resnet8s2_5e_fmnist.py``, ``model.train_step`` with
  its SGD optim wrapper, as the Runner calls it).

Prints the medians, ``fused_over_pair_batch`` and ``fused_over_pair_step``
(medians of the per-round ratios), ``same_batches`` (the two pipelines gave
identical tensors and labels in every round) and the verdict. Targets:
identical batches, ``fused_over_pair_batch <= 0.5``.

    python benchmarks/data_pipeline.py --quick          # seconds
    python benchmarks/data_pipeline.py                  # docs/ figures

Data: ``--data-root`` (the un-gzipped Fashion-MNIST idx files, e.g.
``data/fashion_mnist`` after ``make demo``'s preparation); without it,
random 28x28 images written as idx files in a temporary folder (the
pipeline's cost does not depend on the pixels).
"""
import argparse
import os.path as osp
import tempfile

import numpy as np
import torch
from common import (
    REPO,
    add_common_args,
    add_rounds_arg,
    emit,
    emit_verdict,
    median,
    median_ratio,
    setup,
    time_interleaved,
)

CONFIG = osp.join(REPO, 'configs/projkd/fashion_mnist/resnet8s2_5e_fmnist.py')
PAIR = [dict(type='RandomCrop', crop_size=28, padding=2),
        dict(type='RandomFlip', prob=0.5, direction='horizontal')]
TARGET = 0.5


def random_idx_root(folder: str, n_train: int) -> str:
    from projkd_mm.datasets import write_idx_dataset
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n_train).astype(np.uint8)
    write_idx_dataset(folder, images, labels, images[:100], labels[:100])
    return folder


def build_datasets(cfg, data_root: str):
    """The config's training set twice: with mmpretrain's pair and with the
    config's own RandomPadCropFlip in front of the rest of its pipeline."""
    from mmpretrain.registry import DATASETS
    base = cfg.train_dataloader.dataset.copy()
    base.update(data_root=data_root)
    pipeline = list(base.pipeline)
    if pipeline[0]['type'] != 'RandomPadCropFlip':
        raise SystemExit(f'{CONFIG}: expected RandomPadCropFlip first in the '
                         f"training pipeline, found {pipeline[0]['type']}")
    fused = DATASETS.build(base)
    pair = DATASETS.build(dict(base, pipeline=PAIR + pipeline[1:]))
    return pair, fused


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_common_args(parser)
    add_rounds_arg(parser)
    parser.add_argument('--data-root', default=None,
                        help='un-gzipped Fashion-MNIST idx files (default: '
                        'random images in a temporary folder)')
    args = parser.parse_args(argv)
    setup(args)
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    init_default_scope('mmpretrain')
    cfg = Config.fromfile(CONFIG)
    batch = cfg.train_dataloader.batch_size
    warmup, steps = (1, 10) if args.quick else (3, 40)
    steps = args.rounds or steps
    with tempfile.TemporaryDirectory() as tmp:
        data_root = args.data_root or random_idx_root(
            tmp, 2 * batch if args.quick else 60000)
        pair, fused = build_datasets(cfg, data_root)
    emit(mode='quick' if args.quick else 'full',
         data='fashion_mnist' if args.data_root else 'random_idx',
         train_images=len(pair), batch=batch)

    model = MODELS.build(dict(cfg.model,
                              data_preprocessor=cfg.data_preprocessor))
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    rounds = {'n': 0}
    same = []

    def indices():
        rng = np.random.default_rng(args.seed + rounds['n'])
        return rng.choice(len(pair), batch, replace=False)

    def load(dataset, idx):
        # Same NumPy seed for both pipelines in a round: same draws.
        np.random.seed(args.seed + rounds['n'])
        return pseudo_collate([dataset[int(i)] for i in idx])

    def loader(dataset):
        return lambda: load(dataset, indices())

    def step(dataset):
        return lambda: model.train_step(load(dataset, indices()),
                                        optim_wrapper)

    variants = dict(pair_batch=loader(pair), fused_batch=loader(fused),
                    pair_step=step(pair), fused_step=step(fused))

    def check_and_next():
        idx = indices()
        a, b = load(pair, idx), load(fused, idx)
        same.append(
            all(torch.equal(x, y) for x, y in zip(a['inputs'], b['inputs']))
            and [s.gt_label.tolist() for s in a['data_samples']]
            == [s.gt_label.tolist() for s in b['data_samples']])
        rounds['n'] += 1

    # One round of all four variants, then the equality check of the
    # round's batches, again and again (the check is not timed).
    names = list(variants)
    times = {name: [] for name in names}
    for r in range(warmup + steps):
        # The order rotates from round to round, as time_interleaved's.
        order = names[r % len(names):] + names[:r % len(names)]
        timed = time_interleaved({n: variants[n] for n in order}, 0, 1)
        for name, values in timed.items():
            if r >= warmup:
                times[name] += values
        check_and_next()
    for name, values in times.items():
        emit(**{f'{name}_s': median(values)})
    batch_ratio = median_ratio(times, 'fused_batch', 'pair_batch')
    step_ratio = median_ratio(times, 'fused_step', 'pair_step')
    per_image_saved = (median(times['pair_batch'])
                       - median(times['fused_batch'])) / batch
    emit(fused_over_pair_batch=batch_ratio,
         fused_over_pair_step=step_ratio,
         saved_us_per_image=per_image_saved * 1e6,
         pair_batch_share_of_step=median(times['pair_batch'])
         / median(times['pair_step']),
         same_batches=all(same))
    emit_verdict(all(same) and batch_ratio <= TARGET,
                 fused_over_pair_batch=batch_ratio,
                 fused_over_pair_step=step_ratio, same_batches=all(same))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
