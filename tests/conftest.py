"""Shared fixtures: tiny real data and the configs' tiny-run overrides.

The data are scikit-learn's handwritten digits (1,797 real 8x8 images,
shipped inside scikit-learn), upscaled to 28x28 and written as idx files, so
the Fashion-MNIST configs run on them unchanged through mmpretrain's
FashionMNIST dataset.
"""
import os
import os.path as osp
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

# The import emits upstream warnings before projkd_mm.compat, which lists
# them, can be read: hold them back, then let the unlisted ones through.
with warnings.catch_warnings(record=True) as _caught:
    import projkd_mm  # compat layer + registries
projkd_mm.compat.reissue_unlisted_warnings(_caught)

from projkd_mm.datasets import write_idx_dataset  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# The tools' support package (tools/projkd_tools), as the tools see it.
sys.path.append(osp.join(REPO, 'tools'))
FMNIST_DIR = osp.join(REPO, 'configs', 'projkd', 'fashion_mnist')
PEFD_FMNIST = osp.join(FMNIST_DIR, 'pefd_resnet14_resnet8_10e_fmnist.py')

# Two threads at most; with pytest-xdist (make test) the cores are shared
# among its worker processes, one thread each on 2 cores.
torch.set_num_threads(max(1, min(2, torch.get_num_threads()) // int(
    os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))))

# Tools and launchers (tools/dist_train.sh, benchmarks/gpu.sh) run `python`:
# make it this interpreter even when its environment is not activated.
os.environ['PATH'] = (osp.dirname(sys.executable) + os.pathsep +
                      os.environ.get('PATH', ''))


def pytest_configure(config):
    """Silence the upstream warnings projkd_mm.compat lists, in every test."""
    for message, category in projkd_mm.compat.UPSTREAM_WARNINGS:
        config.addinivalue_line('filterwarnings',
                                f'ignore:{message}:{category.__name__}')


def pytest_collection_modifyitems(config, items):
    """The files with slow tests first, each file's tests in their order.

    ``make test`` gives each file to one of its workers, in this order
    (``--no-loadscope-reorder``; pytest-xdist would otherwise start with the
    files of most tests, the parametrized fast ones, and leave the few long
    end-to-end tests to the end, one worker running them while the other
    waits). Started first, the long files run side by side and the fast
    ones fill the end.
    """
    slow = {item.path for item in items if item.get_closest_marker('slow')}
    items.sort(key=lambda item: item.path not in slow)


@pytest.fixture(scope='session')
def digits_root(tmp_path_factory) -> str:
    """Digits as 28x28 idx files: 1,500 train / 297 test images."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = (digits.images / 16.0 * 255).astype(np.uint8)
    images = np.kron(images, np.ones((3, 3), dtype=np.uint8))  # 24x24
    images = np.pad(images, ((0, 0), (2, 2), (2, 2)))  # 28x28
    labels = digits.target.astype(np.uint8)
    root = str(tmp_path_factory.mktemp('digits'))
    return write_idx_dataset(root, images[:1500], labels[:1500],
                             images[1500:], labels[1500:])


def tiny_run_options(data_root: str, **extra) -> dict:
    """cfg-options that shrink a Fashion-MNIST config to a seconds-long run."""
    options = {
        'train_cfg.max_epochs': 1,
        'default_hooks.logger.interval': 5,
        'randomness.seed': 0,
    }
    for loader, size, indices in (('train_dataloader', 32, 256),
                                  ('val_dataloader', 100, 200),
                                  ('test_dataloader', 100, 200)):
        options.update({
            f'{loader}.dataset.data_root': data_root,
            f'{loader}.dataset.indices': indices,
            f'{loader}.batch_size': size,
            f'{loader}.num_workers': 0,
            f'{loader}.persistent_workers': False,
        })
    options.update(extra)
    return options


@pytest.fixture
def tiny_options():
    return tiny_run_options


def fmnist_batch(n: int = 4, seed: int = 0) -> dict:
    """A batch as ``pseudo_collate`` hands it to ``train_step``: ``n``
    random 28x28 grey images and labels 0, 1, ... (mod 10)."""
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    inputs = torch.rand(n, 1, 28, 28, generator=g) * 255
    samples = [DataSample().set_gt_label(i % 10) for i in range(n)]
    return dict(inputs=list(inputs), data_samples=samples)


def build_teacher_checkpoint(path: str, seed: int = 0) -> str:
    """The Fashion-MNIST teacher's weights (seeded init), saved to ``path``."""
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(osp.join(FMNIST_DIR, 'resnet14_10e_fmnist.py'))
    torch.manual_seed(seed)
    teacher = MODELS.build(cfg.model)
    torch.save({'state_dict': teacher.state_dict()}, path)
    return path


@pytest.fixture(scope='session')
def teacher_ckpt(tmp_path_factory) -> str:
    return build_teacher_checkpoint(
        str(tmp_path_factory.mktemp('teacher') / 'teacher.pth'))


def options_to_argv(options: dict) -> list:
    """Render a cfg-options dict as ``--cfg-options k=v ...`` arguments."""
    argv = ['--cfg-options']
    for key, value in options.items():
        argv.append(f'{key}={value}'.replace(' ', ''))
    return argv


def run_python(*args, timeout=300, check=True, env=None):
    """``python ARGS`` in a fresh interpreter from the repository root, as a
    user runs a script of tools/; with ``check``, an exit code other than 0
    fails the test, showing the end of the output."""
    full_env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{args} exited {proc.returncode}\n{proc.stdout[-3000:]}\n'
            f'{proc.stderr[-5000:]}')
    return proc


@pytest.fixture
def run_tool():
    """Run a script of tools/ in a fresh interpreter, as a user would."""
    return run_python


@pytest.fixture(scope='session')
def distill_run(tmp_path_factory, digits_root, teacher_ckpt) -> str:
    """A real one-epoch ``tools/train.py`` distillation run on the digits;
    its last checkpoint. Trained once for every test that only reads it."""
    work = str(tmp_path_factory.mktemp('distill_run'))
    options = tiny_run_options(digits_root,
                               **{'model.teacher_ckpt': teacher_ckpt})
    run_python('tools/train.py', PEFD_FMNIST, '--work-dir', work,
               *options_to_argv(options))
    return osp.join(work, 'epoch_1.pth')
