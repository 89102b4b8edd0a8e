"""Command-line tools: OpenMMLab flags and clear failures."""
import os.path as osp
import subprocess

import pytest
from conftest import PEFD_FMNIST, REPO


@pytest.mark.parametrize('flag', ['--local_rank', '--local-rank'])
def test_train_accepts_both_local_rank_spellings(flag):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(REPO, 'tools', 'train.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    args = tool.parse_args([PEFD_FMNIST, flag, '3', '--amp', 'bf16'])
    assert args.local_rank == 3 and args.amp == 'bf16'


def test_train_without_teacher_checkpoint_fails_with_the_fix(
        tmp_path, digits_root, tiny_options, run_tool):
    from conftest import options_to_argv
    proc = run_tool('tools/train.py', PEFD_FMNIST, '--work-dir',
                    str(tmp_path), *options_to_argv(
                        tiny_options(digits_root,
                                     **{'model.teacher_ckpt': 'None'})),
                    check=False)
    assert proc.returncode != 0
    assert 'No teacher checkpoint' in proc.stderr
    assert 'model.teacher_ckpt' in proc.stderr


def test_export_of_a_plain_checkpoint_names_the_missing_prefix(
        tmp_path, teacher_ckpt, run_tool):
    proc = run_tool('tools/export_student.py', teacher_ckpt,
                    str(tmp_path / 'out.pth'), check=False)
    assert proc.returncode != 0
    assert "no weights under 'architecture.'" in proc.stderr


@pytest.mark.parametrize('script', ['dist_train.sh', 'dist_test.sh',
                                    'slurm_train.sh'])
def test_shell_launchers_parse(script):
    path = osp.join(REPO, 'tools', script)
    assert subprocess.run(['bash', '-n', path]).returncode == 0


@pytest.mark.parametrize('script,needed', [('dist_train.sh', 2),
                                           ('dist_test.sh', 3),
                                           ('slurm_train.sh', 4)])
def test_shell_launchers_print_usage(script, needed):
    path = osp.join(REPO, 'tools', script)
    bare = subprocess.run(['bash', path], capture_output=True, text=True)
    assert bare.returncode == 2
    assert f'usage: tools/{script}' in bare.stderr
    assert f'expected at least {needed} arguments, got 0' in bare.stderr
    assert 'unbound variable' not in bare.stderr
    helped = subprocess.run(['bash', path, '--help'], capture_output=True,
                            text=True)
    assert helped.returncode == 0
    assert f'usage: tools/{script}' in helped.stdout


def test_resume_with_nothing_to_resume_is_an_error(tmp_path, run_tool):
    config = osp.join(REPO, 'configs', 'projkd', 'fashion_mnist',
                      'resnet8_10e_fmnist.py')
    proc = run_tool('tools/train.py', config, '--work-dir', str(tmp_path),
                    '--resume', check=False)
    assert proc.returncode == 1
    assert f'nothing to resume in {tmp_path}' in proc.stderr
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'gone.pth'))
    proc = run_tool('tools/train.py', config, '--work-dir', str(tmp_path),
                    '--resume', check=False)
    assert proc.returncode == 1
    assert 'gone.pth' in proc.stderr and 'does not exist' in proc.stderr


def test_export_never_overwrites_its_source_nor_writes_a_bad_export(
        tmp_path, teacher_ckpt):
    import shutil

    import torch
    from mmengine.config import Config
    from mmpretrain.registry import MODELS

    from projkd_mm.utils.checkpoint import (
        CheckpointError,
        load_checkpoint_file,
        load_state_dict_strict,
    )
    from projkd_mm.utils.export import export_submodel
    src = str(tmp_path / 'distill.pth')
    # A distillation-shaped checkpoint: the teacher's weights under
    # ``architecture.`` and ``teacher.``.
    state = load_checkpoint_file(teacher_ckpt)['state_dict']
    torch.save({'state_dict': {
        **{f'architecture.{k}': v for k, v in state.items()},
        **{f'teacher.{k}': v for k, v in state.items()}}}, src)
    before = open(src, 'rb').read()
    with pytest.raises(CheckpointError, match='overwrite its source'):
        export_submodel(src, src)
    assert open(src, 'rb').read() == before

    out = str(tmp_path / 'student.pth')
    got = export_submodel(src, out, 'architecture')  # no trailing dot
    assert set(got) == set(state)

    student = MODELS.build(Config.fromfile(osp.join(
        REPO, 'configs/projkd/fashion_mnist/resnet8_10e_fmnist.py')).model)
    bad = str(tmp_path / 'bad.pth')
    with pytest.raises(CheckpointError, match='nothing was written'):
        export_submodel(src, bad, check=lambda sd: load_state_dict_strict(
            student, sd, 'export (nothing was written)'))
    assert not osp.exists(bad) and not osp.exists(bad + '.part')
    shutil.rmtree(tmp_path)


def test_two_runs_cannot_share_a_work_dir(tmp_path, run_tool):
    import fcntl
    config = osp.join(REPO, 'configs', 'projkd', 'fashion_mnist',
                      'resnet8_10e_fmnist.py')
    with open(tmp_path / '.train.lock', 'a') as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a run in progress
        proc = run_tool('tools/train.py', config, '--work-dir',
                        str(tmp_path), check=False)
    assert proc.returncode == 1
    assert f'another training run is using {tmp_path}' in proc.stderr


def test_resume_with_persistent_workers_warns(capsys):
    import importlib.util

    from mmengine.config import Config
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(REPO, 'tools', 'train.py'))
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'projkd', 'fashion_mnist',
                                   'resnet8_10e_fmnist.py'))
    train.warn_inexact_resume(cfg)  # the shipped loader: 1 persistent worker
    assert 'persistent_workers=False' in capsys.readouterr().err
    cfg.train_dataloader.persistent_workers = False
    train.warn_inexact_resume(cfg)
    assert capsys.readouterr().err == ''


def test_resume_from_weights_without_runner_state_names_the_file(
        tmp_path, digits_root, run_tool):
    import torch
    from conftest import options_to_argv, tiny_run_options
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    config = osp.join(REPO, 'configs', 'projkd', 'fashion_mnist',
                      'resnet8_10e_fmnist.py')
    weights = tmp_path / 'weights.pth'
    model = MODELS.build(Config.fromfile(config).model)
    torch.save({'state_dict': model.state_dict()}, weights)
    proc = run_tool('tools/train.py', config, '--work-dir',
                    str(tmp_path / 'work'), '--resume', str(weights),
                    *options_to_argv(tiny_run_options(digits_root)),
                    check=False)
    assert proc.returncode == 1
    assert f"--resume: '{weights}' has no 'meta' entry" in proc.stderr
    assert 'load_from=' in proc.stderr
