"""Real MMEngine Runner runs on real images (scikit-learn digits)."""
import os.path as osp
import textwrap

import pytest
import torch
from conftest import (
    FMNIST_DIR,
    PEFD_FMNIST,
    options_to_argv,
    tiny_run_options,
)

from projkd_mm.utils.export import export_submodel
from projkd_mm.utils.safe_load import load_checkpoint_file

# Every test here starts a Python process or trains for real.
pytestmark = pytest.mark.slow


def test_train_validate_save_resume_and_export(tmp_path, digits_root,
                                               teacher_ckpt, run_tool):
    work = str(tmp_path / 'work')
    opts = tiny_run_options(digits_root,
                            **{'model.teacher_ckpt': teacher_ckpt})
    out = run_tool('tools/train.py', PEFD_FMNIST, '--work-dir', work,
                   *options_to_argv(opts)).stdout
    assert 'distill.loss_pefd' in out and 'teacher.accuracy/top1' in out
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))

    # Resume the finished epoch-1 run and train one more epoch.
    opts['train_cfg.max_epochs'] = 2
    out = run_tool('tools/train.py', PEFD_FMNIST, '--work-dir', work,
                   '--resume', *options_to_argv(opts)).stdout
    assert 'resumed epoch: 1' in out
    assert 'Epoch(train) [2]' in out and 'Epoch(train) [1]' not in out
    ckpt = load_checkpoint_file(str(osp.join(work, 'epoch_2.pth')))
    assert ckpt['meta']['epoch'] == 2
    assert any(k.startswith('distiller.connectors.projector.')
               for k in ckpt['state_dict'])

    # Export the student; it loads into the plain student config.
    exported = str(tmp_path / 'student.pth')
    student_cfg = osp.join(FMNIST_DIR, 'resnet8_10e_fmnist.py')
    out = run_tool('tools/export_student.py', osp.join(work, 'epoch_2.pth'),
                   exported, '--config', student_cfg).stdout
    assert 'loads strictly' in out
    state = load_checkpoint_file(str(exported))['state_dict']
    assert not any(k.startswith(('teacher.', 'distiller.')) for k in state)

    from mmengine.config import Config
    from mmpretrain.apis import init_model

    from projkd_mm.utils.build import build_model
    plain = init_model(student_cfg, exported, device='cpu')
    cfg = Config.fromfile(PEFD_FMNIST)
    distill = build_model(cfg, teacher_ckpt=teacher_ckpt)
    distill.load_state_dict(ckpt['state_dict'])
    distill.eval()
    x = torch.rand(3, 1, 28, 28) * 255
    with torch.no_grad():
        expected = distill.student(
            distill.data_preprocessor({'inputs': list(x)})['inputs'],
            mode='tensor')
        got = plain(plain.data_preprocessor({'inputs': list(x)})['inputs'],
                    mode='tensor')
    torch.testing.assert_close(got, expected)


def test_test_tool_evaluates_a_distillation_checkpoint(tmp_path, digits_root,
                                                       distill_run,
                                                       run_tool):
    out = run_tool('tools/test.py', PEFD_FMNIST, distill_run,
                   '--work-dir', str(tmp_path / 'test'), '--out',
                   str(tmp_path / 'metrics.json'),
                   *options_to_argv(tiny_run_options(digits_root))).stdout
    assert 'Epoch(test)' in out
    import json
    metrics = json.load(open(tmp_path / 'metrics.json'))
    assert 0 <= metrics['accuracy/top1'] <= 100


def test_external_config_reaches_the_plugin_through_custom_imports(
        tmp_path, digits_root, teacher_ckpt, run_tool):
    """A config outside the repo, run without importing projkd_mm first."""
    config = tmp_path / 'my_distill.py'
    config.write_text(textwrap.dedent(f'''
        custom_imports = dict(imports=['projkd_mm'],
                              allow_failed_imports=False)
        default_scope = 'mmpretrain'
        def _net(depth, widths):
            return dict(
                _scope_='mmpretrain', type='ImageClassifier',
                backbone=dict(type='CifarResNet', depth=depth,
                              num_filters=widths, in_channels=1),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=10,
                          in_channels=widths[-1]))
        model = dict(
            _scope_='mmrazor', type='CheckedSingleTeacherDistill',
            data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                                   num_classes=10, mean=[70.0], std=[90.0]),
            architecture=_net(8, (8, 8, 16, 32)),
            teacher=_net(14, (16, 16, 32, 64)),
            teacher_ckpt={teacher_ckpt!r},
            distiller=dict(
                type='ConfigurableDistiller',
                student_recorders=dict(f=dict(type='ModuleOutputs',
                                              source='neck')),
                teacher_recorders=dict(f=dict(type='ModuleOutputs',
                                              source='neck')),
                connectors=dict(p=dict(type='ProjectorEnsembleConnector',
                                       in_channels=32, out_channels=64)),
                distill_losses=dict(loss_l=dict(type='FeatureMSELoss',
                                           loss_weight=12.5)),
                loss_forward_mappings=dict(loss_l=dict(
                    s_feature=dict(from_student=True, recorder='f',
                                   data_idx=0, connector='p'),
                    t_feature=dict(from_student=False, recorder='f',
                                   data_idx=0)))))
        train_dataloader = dict(
            batch_size=32, num_workers=0,
            dataset=dict(type='FashionMNIST', data_root={digits_root!r},
                         download=False, indices=128,
                         pipeline=[dict(type='PackInputs')]),
            sampler=dict(type='DefaultSampler', shuffle=True))
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05))
        train_cfg = dict(by_epoch=True, max_epochs=1)
        work_dir = {str(tmp_path / 'work')!r}
    '''))
    script = ('from mmengine.config import Config\n'
              'from mmengine.runner import Runner\n'
              'import sys\n'
              f'cfg = Config.fromfile({str(config)!r})\n'
              "assert 'projkd_mm' in sys.modules\n"
              'Runner.from_cfg(cfg).train()\n'
              "print('TRAINED')\n")
    out = run_tool('-c', script).stdout
    assert 'TRAINED' in out
    assert osp.isfile(tmp_path / 'work' / 'epoch_1.pth')


def test_test_tool_refuses_checkpoints_that_do_not_fit(tmp_path, digits_root,
                                                       distill_run,
                                                       run_tool):
    """Never an accuracy of random weights with exit 0."""
    distill = distill_run
    student = str(tmp_path / 'student.pth')
    # The tool itself: test_export_student.py.
    export_submodel(distill, student)
    student_cfg = osp.join(FMNIST_DIR, 'resnet8_10e_fmnist.py')
    teacher_cfg = osp.join(FMNIST_DIR, 'resnet14_10e_fmnist.py')
    data = options_to_argv(tiny_run_options(digits_root))
    cases = [
        (PEFD_FMNIST, student, 'is a plain classifier checkpoint',
         'plain mmpretrain config'),
        (student_cfg, distill, 'is a distillation checkpoint',
         'tools/export_student.py'),
        (teacher_cfg, student, 'shape mismatch', 'another model config'),
    ]
    for config, ckpt, kind, fix in cases:
        proc = run_tool('tools/test.py', config, ckpt, '--work-dir',
                        str(tmp_path / 'test'), *data, check=False)
        assert proc.returncode == 1, (config, ckpt, proc.stdout[-2000:])
        assert kind in proc.stderr and fix in proc.stderr, proc.stderr
        assert 'Epoch(test)' not in proc.stdout
    out = run_tool('tools/test.py', student_cfg, student, '--work-dir',
                   str(tmp_path / 'test'), *data).stdout
    assert 'Epoch(test)' in out
