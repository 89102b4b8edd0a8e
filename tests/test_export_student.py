"""tools/export_student.py and projkd_mm.utils.export: the student of a real
distillation run, exported as weights plus its own runnable mmpretrain
config."""
import gzip
import importlib.util
import os
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import (
    FMNIST_DIR,
    PEFD_FMNIST,
    REPO,
)

from projkd_mm.datasets import DEBIAN_FASHION_MNIST
from projkd_mm.utils.safe_load import CheckpointError, load_checkpoint_file

FASHION_TEST_IMAGES = osp.join(DEBIAN_FASHION_MNIST,
                               't10k-images-idx3-ubyte.gz')


def export_tool():
    spec = importlib.util.spec_from_file_location(
        'export_student', osp.join(REPO, 'tools', 'export_student.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def fashion_test_images(n: int) -> np.ndarray:
    """The first ``n`` real Fashion-MNIST test images, ``(n, 28, 28)``."""
    if not osp.isfile(FASHION_TEST_IMAGES):
        pytest.skip(f'Fashion-MNIST is not at {DEBIAN_FASHION_MNIST} '
                    '(make data installs it)')
    with gzip.open(FASHION_TEST_IMAGES) as f:
        f.read(16)  # idx header: magic, count, rows, cols
        return np.frombuffer(f.read(n * 28 * 28),
                             np.uint8).reshape(n, 28, 28).copy()


@pytest.mark.slow
def test_export_writes_a_config_the_inferencer_runs_as_the_distilled_student(
        tmp_path, distill_run, teacher_ckpt, run_tool):
    from mmengine.config import Config
    from mmpretrain.apis import ImageClassificationInferencer

    from projkd_mm.utils.build import build_model
    images = fashion_test_images(100)
    out = str(tmp_path / 'student.pth')
    printed = run_tool('tools/export_student.py', distill_run, out).stdout
    assert f'Saved its config to {tmp_path / "student.py"}' in printed

    config = Config.fromfile(str(tmp_path / 'student.py'))
    text = config.pretty_text
    assert 'teacher' not in text and 'distiller' not in text
    assert config.custom_imports.imports == ['projkd_mm']  # CifarResNet
    assert config.model.data_preprocessor.mean == [72.94]
    assert config.test_dataloader.dataset.metainfo.classes[9] == 'Ankle boot'

    inferencer = ImageClassificationInferencer(
        model=str(tmp_path / 'student.py'), pretrained=out, device='cpu')
    results = inferencer(list(images), batch_size=50)

    distill = build_model(Config.fromfile(PEFD_FMNIST),
                          teacher_ckpt=teacher_ckpt)
    distill.load_state_dict(load_checkpoint_file(distill_run)['state_dict'])
    distill.eval()
    with torch.no_grad():
        inputs = distill.data_preprocessor(
            {'inputs': list(torch.from_numpy(images)[:, None])})['inputs']
        expected = distill.student(inputs, mode='tensor').softmax(1)
    got = torch.from_numpy(np.stack([r['pred_scores'] for r in results]))
    assert [r['pred_label'] for r in results] == expected.argmax(1).tolist()
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
    assert results[0]['pred_class'] in config.test_dataloader.dataset.metainfo[
        'classes']


@pytest.mark.slow
def test_exported_config_evaluates_with_the_test_tool(tmp_path, distill_run,
                                                      run_tool):
    export_tool().main([distill_run, str(tmp_path / 'student.pth')])
    out = run_tool('tools/test.py', str(tmp_path / 'student.py'),
                   str(tmp_path / 'student.pth'), '--work-dir',
                   str(tmp_path / 'test')).stdout
    assert 'Epoch(test)' in out and 'accuracy/top1' in out


@pytest.mark.slow
def test_no_config_writes_the_weights_alone(tmp_path, distill_run):
    assert export_tool().main([distill_run, str(tmp_path / 's.pth'),
                               '--no-config']) == 0
    assert sorted(os.listdir(tmp_path)) == ['s.pth']


@pytest.mark.slow
def test_a_checkpoint_without_a_student_is_refused_naming_the_fix(
        tmp_path, distill_run, capsys):
    state = load_checkpoint_file(distill_run)['state_dict']
    teacher_only = str(tmp_path / 'teacher_only.pth')
    torch.save({'state_dict': {k: v for k, v in state.items()
                               if k.startswith('teacher.')}}, teacher_only)
    assert export_tool().main([teacher_only, str(tmp_path / 's.pth')]) == 1
    err = capsys.readouterr().err
    assert 'holds no student' in err and "under 'teacher.'" in err
    assert sorted(os.listdir(tmp_path)) == ['teacher_only.pth']


@pytest.mark.slow
def test_a_config_that_does_not_match_the_weights_writes_nothing(
        tmp_path, distill_run, capsys):
    teacher_cfg = osp.join(FMNIST_DIR, 'resnet14_10e_fmnist.py')
    assert export_tool().main([distill_run, str(tmp_path / 's.pth'),
                               '--config', teacher_cfg]) == 1
    err = capsys.readouterr().err
    assert 'does not match the model' in err and 'shape mismatch' in err
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_an_output_that_is_a_directory_is_refused_and_leaves_no_tmp(
        tmp_path, distill_run, capsys):
    out_dir = tmp_path / 'exports'
    out_dir.mkdir()
    assert export_tool().main([distill_run, str(out_dir)]) == 1
    err = capsys.readouterr().err
    assert f"The output '{out_dir}' is a directory" in err
    assert 'exports/student.pth' in err
    assert sorted(os.listdir(tmp_path)) == ['exports']
    assert os.listdir(out_dir) == []


@pytest.mark.slow
def test_an_output_equal_to_the_input_is_refused(tmp_path, distill_run,
                                                 capsys):
    import shutil
    src = str(tmp_path / 'run.pth')
    shutil.copy(distill_run, src)
    before = open(src, 'rb').read()
    assert export_tool().main([src, src, '--no-config']) == 1
    assert 'overwrite its source' in capsys.readouterr().err
    assert export_tool().main([src, str(tmp_path / 'student.py')]) == 1
    assert 'ends in .py' in capsys.readouterr().err
    assert open(src, 'rb').read() == before
    assert sorted(os.listdir(tmp_path)) == ['run.pth']


@pytest.mark.slow
def test_an_empty_prefix_is_a_usage_error(tmp_path, distill_run, capsys):
    with pytest.raises(SystemExit) as exit_:
        export_tool().main([distill_run, str(tmp_path / 's.pth'),
                            '--prefix', ''])
    assert exit_.value.code == 2
    assert "--prefix '' is empty" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_a_checkpoint_without_a_saved_config_asks_for_one(
        tmp_path, distill_run, capsys):
    import shutil
    src = str(tmp_path / 'alone' / 'epoch_1.pth')
    os.makedirs(osp.dirname(src))
    shutil.copy(distill_run, src)
    assert export_tool().main([src, str(tmp_path / 's.pth')]) == 1
    err = capsys.readouterr().err
    assert 'No config found' in err
    assert '--config CONFIG' in err and '--no-config' in err
    assert not osp.exists(tmp_path / 's.pth')
    # The config it was trained with, given by hand, does it.
    assert export_tool().main([src, str(tmp_path / 's.pth'), '--config',
                               PEFD_FMNIST]) == 0
    assert osp.isfile(tmp_path / 's.py')


def test_the_saved_config_is_read_as_data_and_never_executed(tmp_path):
    from projkd_mm.utils.export import read_run_config
    good = tmp_path / 'good.py'
    good.write_text("model = dict(type='ImageClassifier', widths=(8, -1), "
                    "extra={'a b': [1.5, None, True]})\nname = 'x'\n")
    cfg = read_run_config(str(good))
    assert cfg.model.widths == (8, -1)
    assert cfg.model.extra == {'a b': [1.5, None, True]}
    marker = tmp_path / 'ran'
    bad = tmp_path / 'bad.py'
    bad.write_text(f"model = dict(type='ImageClassifier')\n"
                   f"x = open({str(marker)!r}, 'w')\n")
    with pytest.raises(CheckpointError,
                       match=r"bad.py, line 2: \"open\(.*is not plain data"):
        read_run_config(str(bad))
    assert not marker.exists()


def test_atomic_write_to_a_directory_leaves_no_tmp(tmp_path):
    from projkd_mm.fileio import atomic_write
    target = tmp_path / 'folder'
    target.mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write(target, b'data')
    assert sorted(os.listdir(tmp_path)) == ['folder']


@pytest.mark.slow
def test_the_demo_ends_with_the_student_exported_and_deployed(
        tmp_path, distill_run):
    pytest.importorskip('onnxruntime', reason="needs the deploy extra: pip "
                        "install -e '.[deploy]'")
    spec = importlib.util.spec_from_file_location(
        'demo', osp.join(REPO, 'tools', 'demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    lines = demo.deploy_student(distill_run,
                                str(tmp_path / 'student_distilled.pth'))
    assert sorted(os.listdir(tmp_path)) == [
        'student_distilled.onnx', 'student_distilled.pth',
        'student_distilled.py']
    assert lines[0].startswith(f'ONNX: {tmp_path / "student_distilled.onnx"}')
    assert 'on 200 images' in lines[1]  # the run's test set
    assert 'top-1 agreement 100.00 % (200/200)' in lines[1]
