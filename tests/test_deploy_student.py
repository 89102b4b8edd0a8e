"""tools/deploy_student.py and projkd_tools.deploy: ONNX export of a
student, kept only once onnxruntime agrees with PyTorch on real images."""
import os
import os.path as osp

import pytest
import torch
from conftest import FMNIST_DIR

pytest.importorskip('onnxruntime', reason="needs the deploy extra: pip "
                    "install -e '.[deploy]'")
pytest.importorskip('onnxscript', reason="needs the deploy extra: pip "
                    "install -e '.[deploy]'")

from projkd_tools.deploy import DeployError, deploy  # noqa: E402

STUDENT_CFG = osp.join(FMNIST_DIR, 'resnet8_10e_fmnist.py')
TEACHER_CFG = osp.join(FMNIST_DIR, 'resnet14_10e_fmnist.py')


@pytest.fixture(scope='module')
def student(tmp_path_factory) -> str:
    """The Fashion-MNIST student's weights (seeded init), as
    tools/export_student.py saves them."""
    from mmengine.config import Config

    from projkd_mm.utils.export import build_classifier
    torch.manual_seed(0)
    model = build_classifier(Config.fromfile(STUDENT_CFG))
    path = str(tmp_path_factory.mktemp('student') / 'student.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def quiet(line):
    pass


@pytest.mark.slow
def test_deploy_writes_an_onnx_file_that_onnxruntime_runs_as_pytorch(
        tmp_path, student, digits_root, run_tool):
    import onnxruntime
    from mmengine.config import Config

    from projkd_mm.utils.export import build_classifier
    from projkd_mm.utils.state_dict import load_weights_strict
    onnx_path = str(tmp_path / 'student.onnx')
    out = run_tool('tools/deploy_student.py', student, '--config',
                   STUDENT_CFG, '--onnx', onnx_path, '--data-root',
                   digits_root).stdout
    assert f'ONNX: {onnx_path} (' in out and 'opset 18' in out
    assert "input 'inputs' float32 (batch, 1, 28, 28)" in out
    assert 'on 297 images' in out and 'top-1 agreement 100.00 %' in out
    assert os.listdir(tmp_path) == ['student.onnx']

    session = onnxruntime.InferenceSession(
        onnx_path, providers=['CPUExecutionProvider'])
    assert session.get_inputs()[0].shape == ['batch', 1, 28, 28]
    model = build_classifier(Config.fromfile(STUDENT_CFG))
    load_weights_strict(model, student, 'student')
    model.eval()
    x = torch.rand(5, 1, 28, 28) * 255
    with torch.no_grad():
        expected = model(model.data_preprocessor({'inputs': x})['inputs'],
                         mode='tensor')
    got = torch.from_numpy(session.run(None, {'inputs': x.numpy()})[0])
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-4)


def test_deploy_checks_all_10000_fashion_mnist_test_images(tmp_path,
                                                           student):
    from projkd_mm.datasets import DEBIAN_FASHION_MNIST, prepare_idx_dataset
    if not osp.isdir(DEBIAN_FASHION_MNIST):
        pytest.skip(f'Fashion-MNIST is not at {DEBIAN_FASHION_MNIST} '
                    '(make data installs it)')
    data = prepare_idx_dataset([DEBIAN_FASHION_MNIST],
                               str(tmp_path / 'fmnist'))
    figures = deploy(student, STUDENT_CFG, str(tmp_path / 's.onnx'),
                     data_root=data, log=quiet)
    assert figures['images'] == figures['agree'] == 10000
    assert figures['max_abs_diff'] <= 1e-4


def test_disagreement_above_the_tolerance_is_an_error_leaving_no_file(
        tmp_path, student, digits_root):
    with pytest.raises(DeployError, match=r'(?s)disagrees with PyTorch.*'
                       r'max \|logit diff\| .* \(at most 0 accepted\).*'
                       'was not kept'):
        deploy(student, STUDENT_CFG, str(tmp_path / 's.onnx'),
               data_root=digits_root, max_logit_diff=0, log=quiet)
    assert os.listdir(tmp_path) == []


def test_a_checkpoint_without_a_student_is_refused(tmp_path, student):
    from projkd_mm.utils.safe_load import load_checkpoint_file
    state = load_checkpoint_file(student)['state_dict']
    teacher_only = str(tmp_path / 'teacher_only.pth')
    torch.save({'state_dict': {f'teacher.{k}': v
                               for k, v in state.items()}}, teacher_only)
    with pytest.raises(DeployError, match='holds no student.*'
                       'tools/export_student.py'):
        deploy(teacher_only, STUDENT_CFG, str(tmp_path / 's.onnx'))
    assert os.listdir(tmp_path) == ['teacher_only.pth']


def test_a_distillation_checkpoint_or_config_asks_for_the_export_first(
        tmp_path, student):
    from conftest import PEFD_FMNIST

    from projkd_mm.utils.safe_load import load_checkpoint_file
    state = load_checkpoint_file(student)['state_dict']
    distill = str(tmp_path / 'distill.pth')
    torch.save({'state_dict': {
        **{f'architecture.{k}': v for k, v in state.items()},
        **{f'teacher.{k}': v for k, v in state.items()}}}, distill)
    with pytest.raises(DeployError, match='is a distillation checkpoint.*'
                       'export its student first'):
        deploy(distill, STUDENT_CFG, str(tmp_path / 's.onnx'))
    with pytest.raises(DeployError, match='is a distillation config'):
        deploy(student, PEFD_FMNIST, str(tmp_path / 's.onnx'))
    assert os.listdir(tmp_path) == ['distill.pth']


def test_a_config_that_does_not_match_the_weights_is_refused(tmp_path,
                                                             student):
    with pytest.raises(DeployError, match=r'(?s)does not match the model.*'
                       'shape mismatch.*same model config'):
        deploy(student, TEACHER_CFG, str(tmp_path / 's.onnx'))
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_an_output_that_is_a_directory_or_the_input_is_refused(
        tmp_path, student, run_tool):
    with pytest.raises(DeployError, match='is a directory: give a file'):
        deploy(student, STUDENT_CFG, str(tmp_path))
    with pytest.raises(DeployError, match='is the input checkpoint'):
        deploy(student, STUDENT_CFG, student)
    assert os.listdir(tmp_path) == []
    proc = run_tool('tools/deploy_student.py', student, '--config',
                    STUDENT_CFG, '--onnx', STUDENT_CFG, check=False)
    assert proc.returncode == 1
    assert 'is the input config' in proc.stderr


def test_an_operation_onnx_cannot_export_is_named_and_nothing_written(
        tmp_path, student, digits_root):
    from mmpretrain.registry import MODELS

    @MODELS.register_module(force=True)
    class CumulativeMaxPooling(torch.nn.Module):
        """The last running maximum over each channel's locations:
        torch.cummax, which has no ONNX translation."""

        def forward(self, inputs):
            x = inputs[-1].flatten(2)
            return (torch.cummax(x, dim=2)[0][..., -1], )

    config = tmp_path / 'cummax_student.py'
    config.write_text(f'_base_ = {STUDENT_CFG!r}\n'
                      "model = dict(neck=dict(_delete_=True, "
                      "type='CumulativeMaxPooling'))\n")
    with pytest.raises(DeployError, match='ONNX cannot export the model of '
                       '.*no ONNX translation for the operation aten.cummax'
                       '.*No ONNX file was written'):
        deploy(student, str(config), str(tmp_path / 's.onnx'),
               data_root=digits_root)
    assert os.listdir(tmp_path) == ['cummax_student.py']



@pytest.mark.slow
def test_the_latency_benchmark_compares_eager_and_onnxruntime(run_tool):
    out = run_tool('benchmarks/onnx_latency.py', '--quick').stdout
    lines = out.splitlines()
    figures = dict(line.split('=', 1) for line in lines[:-1])
    assert figures['machine'] and figures['opset'] == '18'
    for batch in (1, 64):
        for name in ('eager_ms_per_image', 'onnxruntime_ms_per_image',
                     'eager_over_onnxruntime'):
            assert float(figures[f'b{batch}_{name}']) > 0
    assert float(figures['onnx_kib']) > 0 and float(figures['pth_kib']) > 0
    assert lines[-1].startswith('verdict=pass max_logit_diff=')
