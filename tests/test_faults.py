"""Runs that die: SIGKILL, a death while writing, corrupt files, NaN.

Every run is a real ``tools/train.py`` process on the digits, as on a
cluster that preempts jobs; ``--resume`` must carry on as if nothing
happened.
"""
import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import torch
from conftest import PEFD_FMNIST, REPO, options_to_argv, tiny_run_options

from projkd_mm.utils.safe_load import load_checkpoint_file
from projkd_tools.experiment import read_val_curve

# Every test here starts a Python process or trains for real.
pytestmark = pytest.mark.slow

TRAIN = osp.join(REPO, 'tools', 'train.py')
# The runs stay on the CPU even where a GPU is visible.
CPU_ONLY = {'CUDA_VISIBLE_DEVICES': ''}


def three_epoch_options(digits_root, teacher_ckpt, **extra):
    return tiny_run_options(
        digits_root, **{
            'model.teacher_ckpt': teacher_ckpt,
            'train_cfg.max_epochs': 3,
            'default_hooks.checkpoint.interval': 1,
            'default_hooks.logger.interval': 2,
            'randomness.deterministic': True,
            **extra
        })


def train_until_killed(work, argv, kill_when, timeout=240):
    """Start tools/train.py; SIGKILL it the moment ``kill_when(line)``."""
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1',
               PYTHONUNBUFFERED='1', **CPU_ONLY)
    proc = subprocess.Popen([sys.executable, TRAIN, PEFD_FMNIST, '--work-dir',
                             work, *argv], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []

    def read():
        for line in proc.stdout:
            lines.append(line)
            if kill_when(line):
                proc.send_signal(signal.SIGKILL)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=timeout)
    finally:
        proc.kill()
        reader.join(timeout=10)
    return proc.returncode, ''.join(lines)


def assert_same_tensors(got, expected, what):
    if isinstance(expected, torch.Tensor):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7,
                                   msg=lambda m: f'{what}: {m}')
    elif isinstance(expected, dict):
        assert set(got) == set(expected), what
        for key in expected:
            assert_same_tensors(got[key], expected[key], f'{what}.{key}')
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), what
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_same_tensors(g, e, f'{what}[{i}]')
    elif isinstance(expected, np.ndarray):
        np.testing.assert_array_equal(got, expected, err_msg=what)
    else:
        assert got == expected, what


def test_sigkill_mid_epoch_then_resume_ends_like_an_uninterrupted_run(
        tmp_path, digits_root, teacher_ckpt, run_tool):
    argv = options_to_argv(three_epoch_options(digits_root, teacher_ckpt))
    straight = str(tmp_path / 'straight')
    run_tool(TRAIN, PEFD_FMNIST, '--work-dir', straight, *argv,
             env=CPU_ONLY)

    # Killed in the middle of epoch 2, after epoch_1.pth was written.
    killed = str(tmp_path / 'killed')
    code, out = train_until_killed(
        killed, argv, lambda line: 'Epoch(train) [2][2/' in line)
    assert code == -signal.SIGKILL, out[-3000:]
    assert osp.isfile(osp.join(killed, 'epoch_1.pth'))
    assert not osp.exists(osp.join(killed, 'epoch_2.pth')), \
        'the kill came after epoch 2 ended, not in the middle of it'

    out = run_tool(TRAIN, PEFD_FMNIST, '--work-dir', killed, '--resume',
                   *argv, env=CPU_ONLY).stdout
    assert 'resumed epoch: 1' in out
    assert 'Restored the random generator states' in out

    expected = load_checkpoint_file(str(osp.join(straight, 'epoch_3.pth')))
    got = load_checkpoint_file(str(osp.join(killed, 'epoch_3.pth')))
    state = expected['state_dict']
    assert any(k.startswith('architecture.') for k in state)
    assert any(k.startswith('teacher.') for k in state)
    assert any(k.startswith('distiller.connectors.projector.') for k in state)
    # Student, teacher and projectors; optimizer (momentum buffers) and
    # scheduler state; the generators the next epoch would draw from.
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'rng_states'):
        assert_same_tensors(got[key], expected[key], key)
    assert got['meta']['epoch'] == expected['meta']['epoch'] == 3
    assert got['meta']['iter'] == expected['meta']['iter']
    assert (read_val_curve(killed)['accuracy/top1'][-1] ==
            read_val_curve(straight)['accuracy/top1'][-1])


FAULT_HOOKS = '''
import signal
import resource

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DieWhileSavingHook(Hook):
    """The process dies half-way through writing the epoch-N checkpoint.

    The file size limit makes the kernel stop the write at 64 KiB and
    send SIGXFSZ, whose default action kills the process on the spot (as
    a preemption or a node failure would, with no Python cleanup).
    """

    def __init__(self, epoch):
        self.epoch = epoch

    def before_save_checkpoint(self, runner, checkpoint):
        if checkpoint['meta']['epoch'] == self.epoch:
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
            resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
'''


def test_death_while_writing_a_checkpoint_leaves_nothing_resume_would_take(
        tmp_path, digits_root, teacher_ckpt, run_tool):
    (tmp_path / 'fault_hooks.py').write_text(FAULT_HOOKS)
    config = tmp_path / 'dies_while_saving.py'
    config.write_text(textwrap.dedent(f'''
        _base_ = [{PEFD_FMNIST!r}]
        custom_imports = dict(imports=['projkd_mm', 'fault_hooks'],
                              allow_failed_imports=False)
        custom_hooks = [dict(type='RNGStateHook'),
                        dict(type='DieWhileSavingHook', epoch=2)]
    '''))
    work = tmp_path / 'work'
    argv = options_to_argv(
        tiny_run_options(digits_root, **{
            'model.teacher_ckpt': teacher_ckpt,
            'train_cfg.max_epochs': 2
        }))
    env = {'PYTHONPATH': f'{REPO}{os.pathsep}{tmp_path}', **CPU_ONLY}
    proc = run_tool(TRAIN, str(config), '--work-dir', str(work), *argv,
                    check=False, env=env)
    assert proc.returncode == -signal.SIGXFSZ, proc.stderr[-3000:]
    # The interrupted write is only ever a .tmp file, and last_checkpoint
    # still names the last complete checkpoint.
    assert (work / 'epoch_2.pth.tmp').stat().st_size == 65536
    assert not (work / 'epoch_2.pth').exists()
    assert (work / 'last_checkpoint').read_text().strip() == \
        str(work / 'epoch_1.pth')

    out = run_tool(TRAIN, PEFD_FMNIST, '--work-dir', str(work), '--resume',
                   *argv, env=CPU_ONLY).stdout
    assert 'resumed epoch: 1' in out
    ckpt = load_checkpoint_file(str(work / 'epoch_2.pth'))
    assert ckpt['meta']['epoch'] == 2


def test_resuming_from_a_truncated_checkpoint_names_the_file(
        tmp_path, digits_root, teacher_ckpt, run_tool):
    work = tmp_path / 'work'
    argv = options_to_argv(
        tiny_run_options(digits_root, **{'model.teacher_ckpt': teacher_ckpt}))
    run_tool(TRAIN, PEFD_FMNIST, '--work-dir', str(work), *argv,
             env=CPU_ONLY)
    data = (work / 'epoch_1.pth').read_bytes()
    cut = tmp_path / 'epoch_1_cut.pth'
    cut.write_bytes(data[:len(data) // 2])

    proc = run_tool(TRAIN, PEFD_FMNIST, '--work-dir', str(work), '--resume',
                    str(cut), *argv, check=False, env=CPU_ONLY)
    assert proc.returncode != 0
    assert 'CheckpointError' in proc.stderr
    assert f"The checkpoint '{cut}' is truncated or corrupt" in proc.stderr


def exploding_run_options(digits_root, teacher_ckpt, **extra):
    """A learning rate that makes the student's features overflow."""
    return options_to_argv(
        tiny_run_options(digits_root, **{
            'model.teacher_ckpt': teacher_ckpt,
            'optim_wrapper.optimizer.lr': 1e12,
            'default_hooks.logger.interval': 1,
            **extra
        }))


def test_exploding_run_stops_at_the_first_nonfinite_step_writing_nothing(
        tmp_path, digits_root, teacher_ckpt, run_tool):
    work = tmp_path / 'work'
    proc = run_tool(TRAIN, PEFD_FMNIST, '--work-dir', str(work),
                    *exploding_run_options(digits_root, teacher_ckpt),
                    check=False, env=CPU_ONLY)
    assert proc.returncode != 0
    # Step 1 is finite; step 2, the first non-finite one, stops the run.
    assert 'Epoch(train) [1][1/8]' in proc.stdout
    assert 'Epoch(train) [1][2/8]' not in proc.stdout
    assert 'FloatingPointError: Non-finite loss' in proc.stderr
    assert 'distill.loss_pefd' in proc.stderr.splitlines()[-1]
    assert not list(work.glob('*.pth'))


def test_skipping_nonfinite_steps_never_writes_nonfinite_weights(
        tmp_path, digits_root, teacher_ckpt, run_tool):
    work = tmp_path / 'work'
    out = run_tool(TRAIN, PEFD_FMNIST, '--work-dir', str(work),
                   *exploding_run_options(digits_root, teacher_ckpt,
                                          **{'model.nonfinite': 'skip'}),
                   env=CPU_ONLY).stdout
    assert 'Skipping step (1 so far)' in out
    state = load_checkpoint_file(str(work / 'epoch_1.pth'))['state_dict']
    nonfinite = [k for k, v in state.items()
                 if v.is_floating_point() and not torch.isfinite(v).all()]
    assert not nonfinite
