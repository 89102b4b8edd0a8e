"""Command-line tools: OpenMMLab flags and clear failures."""
import glob
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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

    from projkd_mm.utils.export import export_submodel
    from projkd_mm.utils.safe_load import CheckpointError, load_checkpoint_file
    from projkd_mm.utils.state_dict import load_state_dict_strict
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


@pytest.mark.slow
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
    from mmengine.config import Config

    from projkd_tools import training as train
    cfg = Config.fromfile(osp.join(
        REPO, 'configs', 'projkd', 'cifar100',
        'pefd_resnet32x4_resnet8x4_240e_cifar100.py'))
    train.warn_inexact_resume(cfg)  # the shipped loader: persistent workers
    assert 'persistent_workers=False' in capsys.readouterr().err
    cfg.train_dataloader.persistent_workers = False
    train.warn_inexact_resume(cfg)
    assert capsys.readouterr().err == ''
    # The Fashion-MNIST configs load in the training process: exact.
    train.warn_inexact_resume(Config.fromfile(osp.join(
        REPO, 'configs', 'projkd', 'fashion_mnist', 'resnet8_10e_fmnist.py')))
    assert capsys.readouterr().err == ''


@pytest.mark.slow
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


def _train(run_tool, work, *extra, epochs=1, digits_root, check=True,
           **options):
    """tools/train.py on the plain ResNet-8 config, a seconds-long run."""
    from conftest import options_to_argv, tiny_run_options
    config = osp.join(REPO, 'configs', 'projkd', 'fashion_mnist',
                      'resnet8_10e_fmnist.py')
    return run_tool('tools/train.py', config, '--work-dir', str(work),
                    *extra, *options_to_argv(tiny_run_options(
                        digits_root, **{'train_cfg.max_epochs': epochs},
                        **options)), check=check)


def _snapshot(work) -> dict:
    """Every file under ``work`` (logs included) and its bytes."""
    return {str(p.relative_to(work)): p.read_bytes()
            for p in sorted(work.rglob('*')) if p.is_file()}


@pytest.mark.slow
def test_a_fresh_run_never_overwrites_the_checkpoints_of_an_earlier_one(
        tmp_path, digits_root, run_tool):
    work = tmp_path / 'work'
    work.mkdir()
    # A file of the user's kept in the work dir is not a checkpoint of a
    # run: it neither stops a run nor is ever deleted.
    (work / 'teacher.pth').write_bytes(b'the user\'s teacher')
    _train(run_tool, work, epochs=2, digits_root=digits_root)
    assert (work / 'last_checkpoint').read_text().strip() == \
        str(work / 'epoch_2.pth')
    before = _snapshot(work)

    proc = _train(run_tool, work, digits_root=digits_root, check=False)
    assert proc.returncode == 1
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith(f'error: the work dir {work} holds the '
                              'checkpoints of an earlier run (epoch_1.pth, '
                              'epoch_2.pth, last_checkpoint)')
    for way_out in ('--resume', 'another --work-dir', '--overwrite'):
        assert way_out in message
    assert 'teacher.pth' not in message
    assert _snapshot(work) == before  # byte for byte, and no new log dir

    # --overwrite starts over: the earlier run's checkpoints go (also the
    # epoch_2.pth a 1-epoch run would not have replaced), the user's stays.
    out = _train(run_tool, work, '--overwrite',
                 digits_root=digits_root).stdout
    assert (f'--overwrite: deleted the checkpoints of the earlier run in '
            f'{work} (epoch_1.pth, epoch_2.pth, last_checkpoint)') in out
    assert 'Epoch(train) [1]' in out
    assert not (work / 'epoch_2.pth').exists()
    assert (work / 'last_checkpoint').read_text().strip() == \
        str(work / 'epoch_1.pth')
    assert (work / 'teacher.pth').read_bytes() == before['teacher.pth']

    # --resume continues the run in the work dir, as before.
    out = _train(run_tool, work, '--resume', epochs=2,
                 digits_root=digits_root).stdout
    assert 'resumed epoch: 1' in out
    assert 'Epoch(train) [2]' in out and 'Epoch(train) [1]' not in out
    assert (work / 'last_checkpoint').read_text().strip() == \
        str(work / 'epoch_2.pth')


@pytest.mark.slow
def test_overwrite_never_deletes_a_checkpoint_the_config_reads(
        tmp_path, digits_root, run_tool):
    work = tmp_path / 'work'
    _train(run_tool, work, digits_root=digits_root)
    before = _snapshot(work)
    proc = _train(run_tool, work, '--overwrite', digits_root=digits_root,
                  check=False, load_from=str(work / 'epoch_1.pth'))
    assert proc.returncode == 1
    assert (f"error: --overwrite would delete {work / 'epoch_1.pth'}, "
            'which the config reads (load_from=') in proc.stderr
    assert _snapshot(work) == before


@pytest.mark.slow
def test_overwrite_and_resume_together_is_a_usage_error(run_tool):
    proc = run_tool('tools/train.py', PEFD_FMNIST, '--overwrite', '--resume',
                    check=False)
    assert proc.returncode == 2
    assert '--overwrite starts over, --resume continues' in proc.stderr


TOOL_SCRIPTS = sorted(
    osp.relpath(path, REPO)
    for path in glob.glob(osp.join(REPO, 'tools', '**', '*.py'),
                          recursive=True)
    # projkd_tools/: the tools' support package, no tool.
    if osp.dirname(path) != osp.join(REPO, 'tools', 'projkd_tools'))

# Runs a tool as `python TOOL ARGS...` would, then reports its exit code and
# which heavy packages it imported.
_PROBE = '''
import runpy, sys
path, sys.argv = sys.argv[1], sys.argv[1:]
try:
    runpy.run_path(path, run_name='__main__')
    code = 0
except SystemExit as stop:
    code = stop.code
heavy = [m for m in ('torch', 'mmengine', 'mmrazor', 'mmpretrain', 'mmcv',
                     'projkd_mm') if m in sys.modules]
print('PROBE', code, ','.join(heavy) or 'none')
'''


@pytest.mark.slow
@pytest.mark.parametrize('tool', TOOL_SCRIPTS)
def test_tool_answers_help_and_argument_errors_before_importing_torch(
        tool, run_tool):
    assert len(TOOL_SCRIPTS) >= 10
    usage = f'usage: {osp.basename(tool)}'
    helped = run_tool('-c', _PROBE, tool, '--help')
    assert helped.stdout.splitlines()[-1] == 'PROBE 0 none'
    assert usage in helped.stdout
    wrong = run_tool('-c', _PROBE, tool, '--no-such-flag')
    assert wrong.stdout.splitlines()[-1] == 'PROBE 2 none'
    assert usage in wrong.stderr


@pytest.mark.parametrize('name,table', [
    ('repdistiller_to_mmpretrain', 'REPDISTILLER_ARCHS'),
    ('torchvision_resnet_to_mmpretrain', 'TORCHVISION_ARCHS'),
])
def test_converter_tools_parse_exactly_as_the_converter(name, table, capsys):
    import importlib.util

    from projkd_mm.utils import convert
    from projkd_tools.cli import converter_main
    spec = importlib.util.spec_from_file_location(
        f'converter_{name}',
        osp.join(REPO, 'tools', 'model_converters', f'{name}.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    archs = getattr(convert, table)
    assert tool.ARCHS == tuple(archs)
    with pytest.raises(SystemExit):
        tool.parse_args(['--help'])
    fast = capsys.readouterr().out
    with pytest.raises(SystemExit):
        converter_main(tool.ARCHS, tool.SOURCE, tool.DESCRIPTION, ['--help'])
    assert capsys.readouterr().out == fast


def test_demo_help_names_the_debian_dataset_folder():
    import importlib.util

    from projkd_mm.datasets import DEBIAN_FASHION_MNIST
    spec = importlib.util.spec_from_file_location(
        'demo_tool', osp.join(REPO, 'tools', 'demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    assert demo.DEBIAN_FASHION_MNIST == DEBIAN_FASHION_MNIST


def _config(work, template=None):
    from mmengine.config import Config
    hooks = {} if template is None else dict(
        checkpoint=dict(filename_tmpl=template))
    return Config(dict(work_dir=str(work), default_hooks=hooks))


def test_overwrite_counts_only_the_names_this_configs_runner_writes(
        tmp_path):
    from projkd_tools.training import earlier_checkpoints
    names = ['1.pth', '7.pth', '3.pth.tmp', 'best_accuracy_top1_3.pth',
             'epoch_2.pth', 'iter_400.pth', 'notes.pth',
             'my_teacher_backup.pth', 'epoch_backup.pth', '12a.pth']
    for name in names:
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / '7.pth'))
    found = {osp.basename(p)
             for p in earlier_checkpoints(_config(tmp_path, '{}.pth'))}
    assert found == {'1.pth', '7.pth', '3.pth.tmp',
                     'best_accuracy_top1_3.pth', 'epoch_2.pth',
                     'iter_400.pth', 'last_checkpoint'}


@pytest.mark.slow
def test_a_checkpoint_name_outside_the_work_dir_is_refused_before_writing(
        tmp_path, digits_root, run_tool):
    """``filename_tmpl='../precious_{}.pth'`` used to let --overwrite
    delete ../precious_7.pth and the run write ../precious_1.pth."""
    work = tmp_path / 'work'
    (tmp_path / 'precious_7.pth').write_bytes(b'the user\'s file')
    proc = _train(run_tool, work, '--overwrite', digits_root=digits_root,
                  check=False, **{
                      'default_hooks.checkpoint.filename_tmpl':
                      '../precious_{}.pth'})
    assert proc.returncode == 1
    assert ("error: default_hooks.checkpoint.filename_tmpl="
            "'../precious_{}.pth' names files outside the work dir"
            ) in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ['precious_7.pth']


def test_a_work_dir_that_is_a_file_is_refused(tmp_path):
    from projkd_tools.training import check_work_dir
    (tmp_path / 'work').write_text('a file')
    with pytest.raises(SystemExit, match='is a file, not a folder'):
        check_work_dir(_config(tmp_path / 'work'))


def test_a_looping_last_checkpoint_is_an_earlier_run_and_no_resume_point(
        tmp_path):
    """A fresh run used to start and fail after its first epoch, when the
    checkpoint hook wrote through the link."""
    from projkd_tools.training import earlier_checkpoints, latest_checkpoint
    pointer = tmp_path / 'last_checkpoint'
    pointer.symlink_to(pointer)
    assert earlier_checkpoints(_config(tmp_path)) == [str(pointer)]
    with pytest.raises(SystemExit, match='is a link that leads nowhere'):
        latest_checkpoint(str(tmp_path))


@pytest.mark.parametrize('kind', ['link', 'folder'])
def test_a_lock_file_that_is_a_link_or_a_folder_is_refused(tmp_path, kind):
    from projkd_tools.training import work_dir_lock
    lock = tmp_path / '.train.lock'
    elsewhere = tmp_path / 'elsewhere'
    if kind == 'link':
        lock.symlink_to(elsewhere)
    else:
        lock.mkdir()
    with pytest.raises(SystemExit, match=f'is a {kind} .*Remove it'):
        with work_dir_lock(str(tmp_path)):
            pass
    assert not elsewhere.exists()


@pytest.mark.slow
def test_resuming_a_checkpoint_of_another_model_names_what_it_is(
        tmp_path, digits_root, teacher_ckpt, run_tool):
    from conftest import options_to_argv, tiny_run_options
    _train(run_tool, tmp_path / 'plain', digits_root=digits_root)
    plain = tmp_path / 'plain' / 'epoch_1.pth'
    proc = run_tool('tools/train.py', PEFD_FMNIST, '--work-dir',
                    str(tmp_path / 'distill'), '--resume', str(plain),
                    *options_to_argv(tiny_run_options(
                        digits_root, **{'model.teacher_ckpt': teacher_ckpt})),
                    check=False)
    assert proc.returncode == 1
    assert (f"--resume: '{plain}' is a plain classifier checkpoint"
            ) in proc.stderr
    assert f'load_from={plain}' in proc.stderr


def test_overwrite_deletes_nothing_when_a_name_holds_no_runner_checkpoint(
        tmp_path):
    """'3.pth' has the name '{}.pth' gives, but the user's teacher in it
    is no checkpoint a Runner wrote: --overwrite deletes nothing and says
    so (a fresh run would write over it at epoch 3)."""
    import torch

    from projkd_tools.training import (
        delete_earlier_checkpoints,
        earlier_checkpoints,
    )
    torch.save(dict(meta=dict(epoch=1), state_dict={}, message_hub={}),
               tmp_path / '1.pth')
    torch.save(dict(state_dict={'w': torch.ones(1)}), tmp_path / '3.pth')
    (tmp_path / '2.pth.tmp').write_bytes(b'an interrupted write')
    cfg = _config(tmp_path, '{}.pth')
    earlier = earlier_checkpoints(cfg)
    with pytest.raises(SystemExit, match=r"3\.pth has the name of this "
                       r"config's checkpoints \('\{\}\.pth'\) but holds no "
                       r'Runner state'):
        delete_earlier_checkpoints(cfg, earlier)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        '1.pth', '2.pth.tmp', '3.pth']
    (tmp_path / '3.pth').unlink()
    delete_earlier_checkpoints(cfg, earlier_checkpoints(cfg))
    assert list(tmp_path.iterdir()) == []
