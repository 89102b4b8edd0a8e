"""The teacher cache: tools/cache_teacher.py builds it, model.teacher_cache
trains from it, and every way it can disagree with the run is refused.

Real parts throughout: the Fashion-MNIST PEFD config, its real teacher
(seeded weights), the real training pipeline and Runner, on 64 real
handwritten-digit images (every one of their 50 views cached)."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from conftest import PEFD_FMNIST, REPO, tiny_run_options
from mmengine.config import Config

from projkd_mm.datasets import write_idx_dataset
from projkd_mm.teacher_cache import TeacherCacheError, TeacherCacheStore

N_TRAIN = 64


@pytest.fixture(scope='module')
def small_root(tmp_path_factory) -> str:
    """64 training and 40 test digits as 28x28 idx files."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = (digits.images / 16.0 * 255).astype(np.uint8)
    images = np.pad(np.kron(images, np.ones((3, 3), np.uint8)),
                    ((0, 0), (2, 2), (2, 2)))
    labels = digits.target.astype(np.uint8)
    root = str(tmp_path_factory.mktemp('small_digits'))
    return write_idx_dataset(root, images[:N_TRAIN], labels[:N_TRAIN],
                             images[N_TRAIN:N_TRAIN + 40],
                             labels[N_TRAIN:N_TRAIN + 40])


def config(root, teacher_ckpt, **options):
    cfg = Config.fromfile(PEFD_FMNIST)
    cfg.merge_from_dict(tiny_run_options(root, **{
        'model.teacher_ckpt': teacher_ckpt,
        'train_dataloader.dataset.indices': None,
        'train_dataloader.batch_size': 16, **options}))
    return cfg


def build(cfg, out, **kwargs):
    from projkd_tools.teacher_cache import build_cache
    return build_cache(cfg, str(out), batch_size=kwargs.pop('batch_size', 32),
                       log=lambda *a: None, progress=False, **kwargs)


@pytest.fixture(scope='module')
def cache(tmp_path_factory, small_root, teacher_ckpt) -> str:
    out = tmp_path_factory.mktemp('cache') / 'fmnist'
    build(config(small_root, teacher_ckpt), out)
    return str(out)


def runner(cfg, work_dir, **extra):
    from mmengine.registry import RUNNERS
    cfg = cfg.copy()
    cfg.merge_from_dict(extra)
    cfg.work_dir = str(work_dir)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    return RUNNERS.build(cfg)


def train_loader(cfg, seed):
    """The config's training loader, as its Runner builds it."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return Runner.build_dataloader(cfg.train_dataloader, seed=seed)


def online_vs_cached(model, store, loader, batches=2):
    """(online, cached) teacher features for a few real training batches."""
    online, cached = [], []
    for i, data in enumerate(loader):
        if i == batches:
            break
        data = model.data_preprocessor(data, training=True)
        feats = model.distiller.teacher_recorders.recorders['feat']
        with model.distiller.teacher_recorders:
            model.online_teacher(data['inputs'], data['data_samples'],
                                 'tensor')
        online.append(feats.data_buffer[0][0])
        rows = np.array([s.metainfo['source_idx']
                         for s in data['data_samples']])
        views = np.array([s.metainfo['view'] for s in data['data_samples']])
        cached.append(store.records(rows, views, torch.device('cpu'))
                      ['feat'][0][0])
    return torch.cat(online), torch.cat(cached)


# --- the store ------------------------------------------------------------

def test_cache_holds_every_view_of_every_image_with_its_fingerprint(cache):
    store = TeacherCacheStore(cache)
    assert (store.num_images, store.num_views) == (N_TRAIN, 50)
    header = store.header
    assert header['complete'] is True
    assert header['storage_dtype'] == 'float16'
    assert [a['shape'] for a in header['arrays']] == [[N_TRAIN, 50, 64]]
    fp = store.fingerprint
    assert fp['dataset']['size'] == N_TRAIN
    assert fp['pipeline']['augmentation'] == dict(
        type='RandomPadCropFlip', crop_size=[28, 28], padding=[2, 2, 2, 2],
        pad_val=0)
    assert len(fp['teacher_ckpt_sha256']) == 64
    assert fp['recorders'] == {'feat': {'type': 'ModuleOutputs',
                                        'source': 'neck'}}
    assert header['host']['torch'] == torch.__version__
    # No pickle anywhere: every array loads with pickles refused.
    for entry in header['arrays']:
        np.load(osp.join(cache, entry['file']), allow_pickle=False)


def test_cached_outputs_equal_the_online_teacher_on_the_views_drawn(
        cache, small_root, teacher_ckpt):
    from projkd_mm.utils.build import build_model
    cfg = config(small_root, teacher_ckpt)
    model = build_model(cfg).eval()
    loader = train_loader(cfg, seed=0)
    online, cached = online_vs_cached(model, TeacherCacheStore(cache), loader)
    # Storage in fp16: the online feature rounded to fp16 is what is stored.
    scale = online.abs().max()
    assert scale > 0
    err = (online - cached).abs().max()
    assert err <= scale * 2.0**-11, (err, scale)
    np.testing.assert_array_equal(cached.numpy(),
                                  online.half().float().numpy())


def test_a_shuffled_subset_reads_the_rows_of_its_own_images(
        cache, small_root, teacher_ckpt):
    from projkd_mm.utils.build import build_model
    indices = list(np.random.RandomState(3).permutation(N_TRAIN)[:24])
    cfg = config(small_root, teacher_ckpt,
                 **{'train_dataloader.dataset.indices': indices})
    model = build_model(cfg).eval()
    loader = train_loader(cfg, seed=1)
    samples = [s for data in loader for s in data['data_samples']]
    # mmengine numbers the subset 0..23; source_idx is the file's index.
    assert sorted(s.metainfo['sample_idx'] for s in samples) == list(
        range(24))
    assert sorted(s.metainfo['source_idx'] for s in samples) == sorted(
        indices)
    online, cached = online_vs_cached(model, TeacherCacheStore(cache), loader)
    np.testing.assert_array_equal(cached.numpy(),
                                  online.half().float().numpy())


# --- training from it -----------------------------------------------------

def losses(work_dir):
    records = []
    for path in work_dir.glob('*/vis_data/scalars.json'):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return [r['distill.loss_pefd'] for r in records
            if 'distill.loss_pefd' in r]


@pytest.mark.slow
def test_training_from_the_cache_runs_no_teacher_and_gives_the_same_losses(
        cache, small_root, teacher_ckpt, tmp_path):
    curves, forwards = {}, {}
    for name, extra in (('online', {}),
                        ('cached', {'model.teacher_cache': cache})):
        cfg = config(small_root, teacher_ckpt, **extra,
                     **{'default_hooks.logger.interval': 1})
        run = runner(cfg, tmp_path / name)
        calls = []
        run.model.teacher.register_forward_pre_hook(
            lambda *a: calls.append(1))
        run.train()
        curves[name], forwards[name] = losses(tmp_path / name), len(calls)
    assert forwards == {'online': N_TRAIN // 16, 'cached': 0}
    assert len(curves['cached']) == N_TRAIN // 16
    # The same steps, up to the fp16 storage of the teacher's feature.
    np.testing.assert_allclose(curves['cached'], curves['online'],
                               rtol=2e-3)


@pytest.mark.slow
def test_training_resumes_from_a_checkpoint_with_the_cache(
        cache, small_root, teacher_ckpt, tmp_path):
    cfg = config(small_root, teacher_ckpt, **{'model.teacher_cache': cache})
    runner(cfg, tmp_path).train()
    resumed = runner(cfg, tmp_path, **{
        'train_cfg.max_epochs': 2, 'resume': True,
        'load_from': str(tmp_path / 'epoch_1.pth')})
    resumed.train()
    assert resumed.epoch == 2
    assert osp.isfile(tmp_path / 'epoch_2.pth')


@pytest.mark.slow
def test_loader_workers_carry_the_view_to_the_cached_teacher(
        cache, small_root, teacher_ckpt, tmp_path):
    cfg = config(small_root, teacher_ckpt, **{
        'model.teacher_cache': cache, 'train_dataloader.num_workers': 1})
    run = runner(cfg, tmp_path)
    run.train()
    assert run.iter == N_TRAIN // 16


# --- what is refused ------------------------------------------------------

def test_another_teacher_checkpoint_is_refused_naming_the_rebuild(
        cache, small_root, tmp_path):
    from conftest import build_teacher_checkpoint

    from projkd_mm.utils.build import build_model
    other = build_teacher_checkpoint(str(tmp_path / 'other.pth'), seed=1)
    cfg = config(small_root, other, **{'model.teacher_cache': cache})
    with pytest.raises(TeacherCacheError,
                       match='teacher_ckpt_sha256.*tools/cache_teacher.py'):
        build_model(cfg)


def test_another_preprocessor_is_refused(cache, small_root, teacher_ckpt):
    from projkd_mm.utils.build import build_model
    cfg = config(small_root, teacher_ckpt, **{
        'model.teacher_cache': cache, 'data_preprocessor.std': [80.0]})
    with pytest.raises(TeacherCacheError, match='data_preprocessor'):
        build_model(cfg)


def test_another_padding_is_refused_before_training(cache, small_root,
                                                    teacher_ckpt, tmp_path):
    cfg = config(small_root, teacher_ckpt, **{'model.teacher_cache': cache})
    cfg.train_dataloader.dataset.pipeline[0].padding = 3
    with pytest.raises(TeacherCacheError, match='another pipeline'):
        runner(cfg, tmp_path).train()


def test_another_dataset_is_refused_before_training(cache, small_root,
                                                    teacher_ckpt, tmp_path,
                                                    digits_root):
    cfg = config(digits_root, teacher_ckpt, **{'model.teacher_cache': cache})
    with pytest.raises(TeacherCacheError,
                       match='dataset.size and dataset.content_sha256'):
        runner(cfg, tmp_path).train()


def test_a_pipeline_that_drops_the_view_is_refused(cache, small_root,
                                                   teacher_ckpt, tmp_path):
    cfg = config(small_root, teacher_ckpt, **{'model.teacher_cache': cache})
    cfg.train_dataloader.dataset.pipeline[1] = dict(type='PackInputs')
    with pytest.raises(TeacherCacheError, match="drops 'source_idx' and "
                       "'view'.*meta_keys"):
        runner(cfg, tmp_path).train()


def test_a_view_the_cache_lacks_is_refused(cache):
    store = TeacherCacheStore(cache)
    with pytest.raises(TeacherCacheError, match='View 50 is not in'):
        store.records(np.array([0]), np.array([50]), torch.device('cpu'))
    with pytest.raises(TeacherCacheError, match='Image index 64 is not in'):
        store.records(np.array([64]), np.array([0]), torch.device('cpu'))


def test_a_trainable_teacher_is_refused(cache, small_root, teacher_ckpt):
    from projkd_mm.utils.build import build_model
    cfg = config(small_root, teacher_ckpt, **{
        'model.teacher_cache': cache, 'model.teacher_trainable': True,
        'model.teacher_dtype': 'fp32'})
    with pytest.raises(TeacherCacheError, match='trainable'):
        build_model(cfg)


def test_training_without_the_check_hook_is_refused(cache, small_root,
                                                    teacher_ckpt, tmp_path):
    cfg = config(small_root, teacher_ckpt, **{'model.teacher_cache': cache})
    cfg.custom_hooks = [dict(type='RNGStateHook')]
    with pytest.raises(TeacherCacheError, match='TeacherCacheHook'):
        runner(cfg, tmp_path).train()


def copy_cache(cache, tmp_path):
    import shutil
    out = tmp_path / 'copy'
    shutil.copytree(cache, out)
    return out


def test_a_truncated_array_is_refused(cache, tmp_path):
    out = copy_cache(cache, tmp_path)
    array = next(out.glob('*.npy'))
    array.write_bytes(array.read_bytes()[:-100])
    with pytest.raises(TeacherCacheError, match='missing or damaged'):
        TeacherCacheStore(str(out))


def test_changed_bytes_are_refused(cache, tmp_path):
    out = copy_cache(cache, tmp_path)
    array = next(out.glob('*.npy'))
    data = bytearray(array.read_bytes())
    data[-1] ^= 0xFF
    array.write_bytes(bytes(data))
    store = TeacherCacheStore(str(out))
    with pytest.raises(TeacherCacheError, match='SHA-256 differs'):
        store.verify_checksums()


def test_an_unfinished_build_is_never_read(cache, tmp_path):
    out = copy_cache(cache, tmp_path)
    os.rename(out / 'header.json', out / 'build.json')
    with pytest.raises(TeacherCacheError, match='did not finish'):
        TeacherCacheStore(str(out))


def test_a_pipeline_whose_views_cannot_be_enumerated_is_refused(
        small_root, teacher_ckpt, tmp_path):
    cfg = config(small_root, teacher_ckpt)
    cfg.train_dataloader.dataset.pipeline.insert(
        1, dict(type='RandomResizedCrop', scale=28))
    with pytest.raises(TeacherCacheError, match="'RandomResizedCrop'"):
        build(cfg, tmp_path / 'cache')
    assert not (tmp_path / 'cache').exists()


def test_a_cache_over_the_size_budget_is_refused_with_its_size(
        small_root, teacher_ckpt, tmp_path):
    cfg = config(small_root, teacher_ckpt)
    # 64 images x 50 views x 64 values x 2 bytes = 409,600 bytes.
    with pytest.raises(TeacherCacheError,
                       match=r'0\.00 GB, over the --max-size-gb budget'):
        build(cfg, tmp_path / 'cache', max_size_gb=1e-4)
    assert not (tmp_path / 'cache').exists()


def test_an_existing_cache_is_kept_without_overwrite(cache, small_root,
                                                     teacher_ckpt):
    with pytest.raises(TeacherCacheError, match='already holds'):
        build(config(small_root, teacher_ckpt), cache)


@pytest.mark.slow
def test_a_killed_build_resumes_and_ends_with_the_same_cache(
        cache, small_root, teacher_ckpt, tmp_path):
    config_path = tmp_path / 'cfg.py'
    config(small_root, teacher_ckpt).dump(str(config_path))
    out = tmp_path / 'cache'
    cmd = [sys.executable, 'tools/cache_teacher.py', str(config_path),
           '--out', str(out), '--batch-size', '8', '--threads', '1']
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.Popen(cmd, cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    done = 0
    while time.time() < deadline and proc.poll() is None:
        try:
            done = json.loads((out / 'build.json').read_text())['done']
        except (OSError, ValueError, KeyError):
            done = 0
        if done >= 16:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    assert 16 <= done < N_TRAIN, 'the build was not killed mid-way'
    assert not (out / 'header.json').exists()
    resumed = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f'Resuming: {done} of {N_TRAIN} images done.' in resumed.stdout
    for name in ('feat.r0.0.npy', ):
        np.testing.assert_array_equal(np.load(out / name),
                                      np.load(osp.join(cache, name)))


@pytest.mark.slow
def test_two_gloo_processes_train_from_the_cache(cache, small_root,
                                                 teacher_ckpt, tmp_path):
    from conftest import options_to_argv
    from test_distributed import launch, write_config
    config_path = write_config(tmp_path, '')
    options = options_to_argv(tiny_run_options(small_root, **{
        'model.teacher_ckpt': teacher_ckpt, 'model.teacher_cache': cache,
        'train_dataloader.dataset.indices': None,
        'train_dataloader.batch_size': 16}))
    proc, _ = launch(tmp_path, config_path, 2, 29631,
                     ['--work-dir', str(tmp_path / 'work'), '--no-validate',
                      *options])
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Teacher outputs in training: cached' in log
    assert f'built for these {N_TRAIN} training images and their 50 views' \
        in log
    assert osp.isfile(tmp_path / 'work' / 'epoch_1.pth')


def test_a_run_may_use_part_of_a_cache_but_not_a_recorder_it_lacks(
        small_root, teacher_ckpt, tmp_path):
    from projkd_mm.utils.build import build_model
    both = config(small_root, teacher_ckpt)
    both.model.distiller.teacher_recorders.logits = dict(
        type='ModuleOutputs', source='head.fc')
    build(both, tmp_path / 'both')
    store = TeacherCacheStore(str(tmp_path / 'both'))
    assert sorted(store.header['records']) == ['feat', 'logits']
    # The PEFD run (feature only) reads its part of the larger cache.
    build_model(config(small_root, teacher_ckpt, **{
        'model.teacher_cache': str(tmp_path / 'both')}))
    # A cache of the feature alone cannot serve a run that needs logits.
    build(config(small_root, teacher_ckpt), tmp_path / 'feat')
    with pytest.raises(TeacherCacheError,
                       match="holds no teacher recorder 'logits'"):
        build_model(both, teacher_cache=str(tmp_path / 'feat'))
