"""Two CPU processes over gloo, launched by tools/dist_train.sh (torchrun).

Test-only hooks reach the runs the way a user's own code would: a module
beside a config that lists it in ``custom_imports``.
"""
import json
import os
import os.path as osp
import subprocess
import textwrap
import time

import numpy as np
import pytest
from conftest import PEFD_FMNIST, REPO, options_to_argv, tiny_run_options

# Every test here starts a Python process or trains for real.
pytestmark = pytest.mark.slow

TEST_HOOKS = '''
import json
import os.path as osp

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class FailOnRankHook(Hook):
    """Rank ``rank`` raises before training iteration ``iteration``."""

    def __init__(self, rank, iteration):
        self.rank = rank
        self.iteration = iteration

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if get_rank() == self.rank and runner.iter == self.iteration:
            raise RuntimeError(f'injected failure on rank {self.rank}')


@HOOKS.register_module()
class RecordLossHook(Hook):
    """Each rank writes its own per-iteration loss to losses_rank<r>.json."""

    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(float(outputs['loss']))

    def after_train(self, runner):
        path = osp.join(runner.work_dir, f'losses_rank{get_rank()}.json')
        with open(path, 'w') as f:
            json.dump(self.losses, f)


@HOOKS.register_module()
class CountTeacherEvalHook(Hook):
    """Each rank counts the teacher's validation (predict) batches."""

    def before_run(self, runner):
        model = getattr(runner.model, 'module', runner.model)
        self.calls = 0

        def count(module, args, kwargs):
            if kwargs.get('mode') == 'predict':
                self.calls += 1

        model.teacher.register_forward_pre_hook(count, with_kwargs=True)

    def after_run(self, runner):
        path = osp.join(runner.work_dir,
                        f'teacher_evals_rank{get_rank()}.json')
        with open(path, 'w') as f:
            json.dump(self.calls, f)
'''


def write_config(tmp_path, body: str) -> str:
    (tmp_path / 'dist_test_hooks.py').write_text(TEST_HOOKS)
    config = tmp_path / 'dist_test_config.py'
    config.write_text(
        textwrap.dedent(f'''
        _base_ = [{PEFD_FMNIST!r}]
        custom_imports = dict(imports=['projkd_mm', 'dist_test_hooks'],
                              allow_failed_imports=False)
        ''') + textwrap.dedent(body))
    return str(config)


def launch(tmp_path, config, nproc, port, options, timeout=300):
    """tools/dist_train.sh CONFIG NPROC, or tools/train.py for one process."""
    # CPU processes over gloo, even where a GPU is visible.
    env = dict(os.environ, PORT=str(port), OMP_NUM_THREADS='1',
               CUDA_VISIBLE_DEVICES='',
               PYTHONPATH=f'{REPO}{os.pathsep}{tmp_path}')
    if nproc == 1:
        cmd = ['python', 'tools/train.py', config]
    else:
        cmd = ['bash', 'tools/dist_train.sh', config, str(nproc)]
    start = time.time()
    proc = subprocess.run(cmd + options, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=env)
    return proc, time.time() - start


def test_one_failing_rank_ends_the_whole_job_promptly(tmp_path, digits_root,
                                                      teacher_ckpt):
    config = write_config(
        tmp_path, '''
        custom_hooks = [dict(type='RNGStateHook'),
                        dict(type='FailOnRankHook', rank=1, iteration=3)]
        ''')
    options = options_to_argv(
        tiny_run_options(digits_root, **{'model.teacher_ckpt': teacher_ckpt}))
    proc, seconds = launch(tmp_path, config, 2, 29621,
                           ['--work-dir', str(tmp_path / 'work'), *options],
                           timeout=240)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log[-3000:]
    assert 'injected failure on rank 1' in log
    # Rank 0 waits in an all-reduce that rank 1 never joins: torchrun must
    # stop it instead of letting it wait for the 30-minute gloo timeout.
    assert 'ChildFailedError' in log
    assert seconds < 120, f'the job took {seconds:.0f} s to fail'


def test_two_processes_of_batch_b_follow_one_process_of_batch_2b(
        tmp_path, digits_root, teacher_ckpt):
    # No augmentation (its random draws differ between one and two
    # processes); SyncBN so that BatchNorm sees the same 2B samples.
    config = write_config(
        tmp_path, '''
        sync_bn = 'torch'
        train_dataloader = dict(
            dataset=dict(pipeline=[dict(type='PackInputs')]))
        custom_hooks = [dict(type='RNGStateHook'),
                        dict(type='RecordLossHook')]
        ''')
    curves = {}
    for nproc, batch, port in ((1, 64, 29622), (2, 32, 29623)):
        work = tmp_path / f'work{nproc}'
        options = options_to_argv(
            tiny_run_options(
                digits_root, **{
                    'model.teacher_ckpt': teacher_ckpt,
                    'train_dataloader.batch_size': batch,
                    'train_cfg.max_epochs': 2,
                }))
        proc, _ = launch(tmp_path, config, nproc, port,
                         ['--work-dir', str(work), '--no-validate', *options])
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
        ranks = [json.loads((work / f'losses_rank{r}.json').read_text())
                 for r in range(nproc)]
        # Each rank logs the loss of its own B samples; their mean is the
        # loss of the 2B samples one process sees.
        curves[nproc] = np.mean(ranks, axis=0)
    assert len(curves[1]) == len(curves[2]) == 8
    np.testing.assert_allclose(curves[2], curves[1], rtol=1e-4)
    # The curve moved, so the equality says something about the updates.
    assert abs(curves[1][-1] - curves[1][0]) > 0.05


def test_dist_train_runs_two_cpu_processes_teacher_evaluated_once_per_rank(
        tmp_path, digits_root, teacher_ckpt):
    config = write_config(
        tmp_path, '''
        custom_hooks = [dict(type='RNGStateHook'),
                        dict(type='CountTeacherEvalHook')]
        ''')
    work = tmp_path / 'work'
    options = options_to_argv(
        tiny_run_options(digits_root, **{'model.teacher_ckpt': teacher_ckpt,
                                         'train_cfg.max_epochs': 3}))
    proc, _ = launch(tmp_path, config, 2, 29624,
                     ['--work-dir', str(work), *options])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    log = proc.stdout + proc.stderr
    assert "'backend': 'gloo'" in log or 'backend=gloo' in log or \
        'gloo' in log
    assert 'world_size: 2' in log or 'Distributed training: True' in log
    assert osp.isfile(work / 'epoch_3.pth')
    # 200 validation images, 100 per rank, one batch of 100 on each: three
    # validations, one teacher evaluation per rank.
    for rank in range(2):
        assert json.loads(
            (work / f'teacher_evals_rank{rank}.json').read_text()) == 1
    scalars = list(work.glob('*/vis_data/scalars.json'))
    assert len(scalars) == 1
    lines = scalars[0].read_text().splitlines()
    records = [json.loads(line) for line in lines if 'accuracy/top1' in line]
    assert len(records) == 3
    assert len({r['teacher.accuracy/top1'] for r in records}) == 1
