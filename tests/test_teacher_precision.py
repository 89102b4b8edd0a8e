"""A cheap frozen teacher: its own precision, layout and compilation
(``model.teacher_dtype``, ``teacher_memory_format``, ``teacher_compile``),
and tools/analysis/teacher_precision.py. That the validation loop evaluates
a frozen teacher once: test_loops.py.

Real models, the real MMRazor distiller and the real MMEngine Runner on
scikit-learn's digits (see conftest.py).
"""
import pytest
import torch
from conftest import (
    PEFD_FMNIST,
    fmnist_batch,
    options_to_argv,
    tiny_run_options,
)
from mmengine.config import Config

from projkd_mm.utils.build import build_model
from projkd_mm.utils.safe_load import load_checkpoint_file

CHEAP = dict(teacher_dtype='bf16', teacher_memory_format='channels_last')
FP32 = dict(teacher_dtype='fp32', teacher_memory_format='contiguous')


def build(teacher_ckpt, seed=0, **model_overrides):
    cfg = Config.fromfile(PEFD_FMNIST)
    torch.manual_seed(seed)  # the same student and projectors every time
    return build_model(cfg, teacher_ckpt=teacher_ckpt, **model_overrides)


def batch(n=8, seed=0):
    return fmnist_batch(n, seed)


def losses_of(model, data):
    model.train()
    data = model.data_preprocessor(data, training=True)
    return model(data['inputs'], data['data_samples'], mode='loss')


def record(model, name, from_student):
    return model.distiller.get_record(name, from_student=from_student,
                                      data_idx=0)


# --- build-time errors --------------------------------------------------

@pytest.mark.parametrize('key, value, allowed', [
    ('teacher_dtype', 'float16', "'auto', 'fp32', 'bf16', 'fp16'"),
    ('teacher_dtype', None, "'auto', 'fp32', 'bf16', 'fp16'"),
    ('teacher_memory_format', 'nhwc', "'contiguous', 'channels_last'"),
    ('teacher_compile', 'yes', 'True or False'),
])
def test_unknown_teacher_option_fails_at_build_naming_key_and_values(
        teacher_ckpt, key, value, allowed):
    with pytest.raises(ValueError) as err:
        build(teacher_ckpt, **{key: value})
    message = str(err.value)
    assert f'model.{key}' in message and allowed in message
    assert repr(value) in message


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a CPU machine')
def test_fp16_teacher_without_cuda_is_refused_at_build(teacher_ckpt):
    with pytest.raises(ValueError, match="teacher_dtype='fp16' needs a CUDA"):
        build(teacher_ckpt, teacher_dtype='fp16')


def test_bf16_teacher_on_a_cuda_device_without_bf16_is_refused(
        teacher_ckpt, monkeypatch):
    # No such GPU here: the two answers a pre-Ampere GPU gives are stood in
    # for, nothing else.
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported',
                        lambda *a, **k: False)
    with pytest.raises(ValueError) as err:
        build(teacher_ckpt, teacher_dtype='bf16')
    assert 'has no native bfloat16' in str(err.value)
    assert "model.teacher_dtype='auto', 'fp16' or 'fp32'" in str(err.value)


def test_low_precision_is_only_for_a_frozen_teacher(teacher_ckpt):
    with pytest.raises(ValueError, match='only for a frozen teacher'):
        build(teacher_ckpt, teacher_dtype='bf16', teacher_trainable=True)


# --- the training-time forward ------------------------------------------

def test_teacher_runs_in_bf16_channels_last_and_losses_see_fp32(
        teacher_ckpt):
    model = build(teacher_ckpt, **CHEAP)
    seen = {}

    def spy(module, inputs, outputs):
        seen['dtype'] = outputs[-1].dtype
        seen['channels_last'] = outputs[-1].is_contiguous(
            memory_format=torch.channels_last)

    model.teacher.backbone.register_forward_hook(spy)
    losses = losses_of(model, batch())
    assert seen == {'dtype': torch.bfloat16, 'channels_last': True}
    assert record(model, 'feat', from_student=False).dtype == torch.float32
    # The student is untouched: fp32, and its graph reaches the loss.
    assert record(model, 'feat', from_student=True).dtype == torch.float32
    assert all(v.dtype == torch.float32 for v in losses.values())
    # The weights themselves stay fp32: checkpoints keep their dtype.
    assert all(p.dtype == torch.float32 for p in model.teacher.parameters())
    expected = load_checkpoint_file(str(teacher_ckpt))['state_dict']
    for key, value in model.teacher.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)


def test_bf16_teacher_gives_the_fp32_losses_to_bf16_rounding(teacher_ckpt):
    cheap = losses_of(build(teacher_ckpt, **CHEAP), batch())
    exact = losses_of(build(teacher_ckpt, **FP32), batch())
    assert cheap.keys() == exact.keys()
    torch.testing.assert_close(cheap['student.loss'], exact['student.loss'],
                               rtol=0, atol=0)  # the student is fp32
    torch.testing.assert_close(cheap['distill.loss_pefd'],
                               exact['distill.loss_pefd'], rtol=2e-2,
                               atol=1e-3)


def test_gradients_reach_student_and_projectors_never_the_cheap_teacher(
        teacher_ckpt):
    model = build(teacher_ckpt, **CHEAP)
    losses = losses_of(model, batch())
    sum(losses.values()).backward()
    assert model.distiller.connectors['projector'].weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.student.parameters())
    assert all(p.grad is None for p in model.teacher.parameters())
    assert not record(model, 'feat', from_student=False).requires_grad


def test_teacher_overflowing_in_bf16_is_stopped_naming_the_teacher_recorder(
        teacher_ckpt):
    model = build(teacher_ckpt, **CHEAP)
    with torch.no_grad():  # a teacher whose activations overflow bf16
        model.teacher.backbone.layer3[-1].conv2.weight.fill_(1e38)
    with pytest.raises(FloatingPointError) as err:
        losses_of(model, batch())
    message = str(err.value)
    assert "teacher recorder 'feat' (source 'neck')" in message
    assert 'student recorder' not in message


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(torch, 'compile'), reason='torch < 2')
def test_compiled_teacher_gives_the_eager_losses(teacher_ckpt):
    eager = losses_of(build(teacher_ckpt, **FP32), batch())
    compiled_model = build(teacher_ckpt, teacher_compile=True, **FP32)
    compiled = losses_of(compiled_model, batch())
    assert compiled_model.online_teacher.compiled_forward is not None
    for key in eager:
        torch.testing.assert_close(compiled[key], eager[key], rtol=1e-4,
                                   atol=1e-5)


# --- checkpoints of a cheap-teacher run ---------------------------------

@pytest.mark.slow
def test_cheap_teacher_checkpoint_loads_into_fp32_teacher_resumes_exports(
        tmp_path, digits_root, teacher_ckpt, run_tool):
    work = tmp_path / 'cheap'
    options = tiny_run_options(digits_root, **{
        'model.teacher_ckpt': teacher_ckpt,
        'model.teacher_dtype': 'bf16',
        'model.teacher_memory_format': 'channels_last'})
    run_tool('tools/train.py', PEFD_FMNIST, '--work-dir', str(work),
             *options_to_argv(options))
    ckpt = str(work / 'epoch_1.pth')
    state = load_checkpoint_file(ckpt)['state_dict']
    teacher = {k[len('teacher.'):]: v for k, v in state.items()
               if k.startswith('teacher.')}
    assert all(v.dtype == torch.float32 for v in teacher.values()
               if v.is_floating_point())
    # Strictly into an fp32, contiguous teacher: the original weights.
    fp32 = build(teacher_ckpt, **FP32)
    fp32.teacher.load_state_dict(teacher, strict=True)
    expected = load_checkpoint_file(str(teacher_ckpt))['state_dict']
    for key, value in fp32.teacher.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)
    # The run resumes with an fp32 teacher, and the student exports.
    options.update({'train_cfg.max_epochs': 2, 'model.teacher_dtype': 'fp32',
                    'model.teacher_memory_format': 'contiguous'})
    proc = run_tool('tools/train.py', PEFD_FMNIST, '--work-dir', str(work),
                    '--resume', *options_to_argv(options))
    assert 'resumed' in (proc.stdout + proc.stderr).lower()
    assert (work / 'epoch_2.pth').exists()
    run_tool('tools/export_student.py', ckpt, str(tmp_path / 'student.pth'))
    exported = load_checkpoint_file(str(tmp_path / 'student.pth'))
    assert exported['state_dict'] and not any(
        k.startswith(('teacher.', 'architecture.'))
        for k in exported['state_dict'])


@pytest.mark.slow
def test_teacher_precision_tool_compares_every_mode_with_fp32(
        digits_root, teacher_ckpt, run_tool):
    proc = run_tool('tools/analysis/teacher_precision.py', teacher_ckpt,
                    '--data-root', digits_root, '--modes',
                    'fp32:channels_last', 'bf16:channels_last', check=False)
    figures = dict(line.split('=', 1) for line in proc.stdout.splitlines()
                   if '=' in line and not line.startswith('verdict'))
    assert figures['test_images'] == '297'
    # The same fp32 arithmetic in another layout: the same predictions.
    assert float(figures['fp32:channels_last.agreement_with_fp32_pct']) == 100
    for mode in ('fp32:channels_last', 'bf16:channels_last'):
        assert 0 <= float(figures[f'{mode}.agreement_with_fp32_pct']) <= 100
        assert float(figures[f'{mode}.forward_s']) > 0
    # The exit code says whether every mode met the targets.
    verdict = proc.stdout.splitlines()[-1]
    assert verdict.startswith('verdict=')
    assert (proc.returncode == 0) == verdict.startswith('verdict=pass')
