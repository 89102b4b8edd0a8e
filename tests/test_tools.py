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
