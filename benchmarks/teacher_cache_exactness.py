"""Are a teacher cache's outputs the online teacher's? Measured on real data.

    python benchmarks/teacher_cache_exactness.py --cache DIR \\
        --teacher-ckpt TEACHER.pth [--data-root data/fashion_mnist]
        [--images 1000] [--epoch]

DIR is a cache that ``tools/cache_teacher.py CONFIG --out DIR`` built for
CONFIG (default: the full Fashion-MNIST study's PEFD config) and the same
teacher. Printed, as ``name=value`` lines:

- ``all_views.*``: the first ``--images`` training images x every view,
  rendered by ``RandomPadCropFlip.render_views`` and run through the
  algorithm's online teacher at the training batch size (128), against
  the cache: the largest absolute and relative difference (relative to the
  largest value of the feature) and the share of values equal bit for bit.
- ``drawn.*``: the same comparison on batches of the real training loader
  (the views its pipeline draws, the rows its samples name).
- with ``--epoch``: one training epoch from the cache and two with the
  online teacher, same seed: the relative difference of the logged losses
  (every 10 iterations) of the cached run and of the second online run
  from the first (at the first logged iteration and at most), how many are
  identical, and each run's test top-1.
"""
import argparse
import glob
import json
import os.path as osp
import sys
import tempfile

import numpy as np
import torch
from common import REPO, emit, setup

sys.path.append(osp.join(REPO, 'tools'))

DEFAULT_CONFIG = osp.join(
    REPO, 'configs/projkd/fashion_mnist/'
    'pefd_resnet20s2_resnet8s2_5e_fmnist.py')


def load(args, **options):
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    options = {'model.teacher_ckpt': args.teacher_ckpt, **options}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options[f'{loader}.dataset.data_root'] = args.data_root
    cfg.merge_from_dict(options)
    return cfg


def differences(online: np.ndarray, cached: np.ndarray) -> dict:
    diff = np.abs(online - cached)
    scale = np.abs(online).max(axis=-1, keepdims=True)
    return dict(max_abs=float(diff.max()),
                max_rel=float((diff / np.maximum(scale, 1e-12)).max()),
                equal_pct=100.0 * float((online == cached).mean()),
                values=int(online.size))


def all_views(args, model, store) -> dict:
    from projkd_mm.teacher_cache import load_source_images, split_pipeline
    from projkd_mm.teacher_cache.views import build_augmentation
    from projkd_tools.teacher_cache import views_to_inputs
    cfg = load(args)
    images, _ = load_source_images(cfg.train_dataloader.dataset)
    images = images[:args.images]
    augmentation = build_augmentation(
        split_pipeline(cfg.train_dataloader.dataset.pipeline)[1])
    feats = model.distiller.teacher_recorders.recorders['feat']
    cached_all = store.arrays()['feat.r0.0.npy']
    online, cached = [], []
    for view in range(store.num_views):
        rendered = augmentation.render_views(images, view)
        for first in range(0, len(images), 128):
            data = model.data_preprocessor(dict(
                inputs=views_to_inputs(rendered[first:first + 128])))
            with torch.no_grad(), model.distiller.teacher_recorders:
                model.online_teacher(data['inputs'], None, 'tensor')
            online.append(feats.data_buffer[0][0].numpy())
        cached.append(np.asarray(cached_all[:len(images), view],
                                 dtype=np.float32))
    return differences(np.concatenate(online), np.concatenate(cached))


def drawn(args, model, store, batches: int = 16) -> dict:
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    cfg = load(args)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    feats = model.distiller.teacher_recorders.recorders['feat']
    online, cached = [], []
    for i, data in enumerate(loader):
        if i == batches:
            break
        data = model.data_preprocessor(data, training=True)
        with torch.no_grad(), model.distiller.teacher_recorders:
            model.online_teacher(data['inputs'], data['data_samples'],
                                 'tensor')
        online.append(feats.data_buffer[0][0].numpy())
        rows = np.array([s.source_idx for s in data['data_samples']])
        views = np.array([s.view for s in data['data_samples']])
        cached.append(store.records(rows, views, torch.device('cpu'))
                      ['feat'][0][0].numpy())
    return differences(np.concatenate(online), np.concatenate(cached))


def one_epoch(args) -> dict:
    from mmengine.registry import RUNNERS
    out = {}
    curves = {}
    for name, extra in (('online', {}), ('online_again', {}),
                        ('cached', {'model.teacher_cache': args.cache})):
        cfg = load(args, **extra, **{
            'train_cfg.max_epochs': 1, 'randomness.seed': 10,
            'default_hooks.logger.interval': 10})
        with tempfile.TemporaryDirectory() as work_dir:
            cfg.work_dir = work_dir
            runner = RUNNERS.build(cfg)
            runner.train()
            path = glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json'))[0]
            with open(path) as f:
                records = [json.loads(line) for line in f]
        curves[name] = np.array([r['loss'] for r in records if 'loss' in r])
        out[f'{name}_top1'] = [r['accuracy/top1'] for r in records
                               if 'accuracy/top1' in r][-1]
    out['logged_losses'] = len(curves['online'])
    # How far apart the curves drift: the cached run against the online one,
    # and (the yardstick) the online run against itself run again.
    for name in ('cached', 'online_again'):
        rel = np.abs(curves[name] - curves['online']) / np.abs(
            curves['online'])
        out[f'{name}_first_rel_diff'] = float(rel[0])
        out[f'{name}_max_rel_diff'] = float(rel.max())
        out[f'{name}_identical_losses'] = int((rel == 0).sum())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--cache', required=True)
    parser.add_argument('--teacher-ckpt', required=True)
    parser.add_argument('--data-root',
                        default=osp.join(REPO, 'data', 'fashion_mnist'))
    parser.add_argument('--images', type=int, default=1000)
    parser.add_argument('--epoch', action='store_true')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--quick', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--device', default='cpu', help=argparse.SUPPRESS)
    parser.add_argument('--seed', type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    setup(args)
    from projkd_mm.teacher_cache import TeacherCacheStore
    from projkd_mm.utils.build import build_model
    model = build_model(load(args)).eval()
    store = TeacherCacheStore(args.cache)
    emit(teacher_dtype=model.teacher_dtype,
         storage_dtype=store.header['storage_dtype'],
         images=args.images, views=store.num_views)
    for key, value in all_views(args, model, store).items():
        emit(**{f'all_views.{key}': value})
    for key, value in drawn(args, model, store).items():
        emit(**{f'drawn.{key}': value})
    if args.epoch:
        for key, value in one_epoch(args).items():
            emit(**{f'epoch.{key}': value})


if __name__ == '__main__':
    main()
