"""The benchmarks run and report figures (not whether targets are met:
timings on shared CI machines are noise)."""
import os
import re
import subprocess
import sys

import pytest
import torch
from conftest import PEFD_FMNIST, REPO, options_to_argv, tiny_run_options

# Each command prints name=value lines and ends with one verdict= line.
# Two timed rounds: what is checked here is the figures, not their noise.
COMMANDS = {
    'overhead': [sys.executable, 'benchmarks/overhead.py', '--quick',
                 '--rounds', '2'],
    'ensemble': [sys.executable, 'benchmarks/ensemble.py', '--quick',
                 '--rounds', '2'],
    'memory': [sys.executable, 'benchmarks/memory.py', '--quick'],
    'cheap_teacher': [sys.executable, 'benchmarks/cheap_teacher.py',
                      '--quick', '--rounds', '2'],
    'data_pipeline': [sys.executable, 'benchmarks/data_pipeline.py',
                      '--quick', '--rounds', '2'],
    'teacher_cache': [sys.executable, 'benchmarks/teacher_cache.py',
                      '--quick', '--rows', '512', '--rounds', '2'],
    # The GPU script's CPU smoke mode: the same code, tiny sizes (and the
    # CIFAR pair: overhead.py already runs ResNet34 -> ResNet18).
    'gpu': ['bash', 'benchmarks/gpu.sh', '--device', 'cpu', '--steps', '1',
            '--batch', '2', '--pair', 'r32x4_r8x4'],
}
FIGURE = re.compile(r'^[\w.\-]+=\S+$')
VERDICT = re.compile(r'^verdict=(pass|fail)( [\w.\-]+=\S+)+$')


@pytest.fixture(scope='module')
def outputs(digits_root, teacher_ckpt, tmp_path_factory):
    """All benchmarks, and tools/train.py with and without the GPU-layout
    flags, at once, one thread each: about a minute and a half on 2 cores
    instead of the sum of their run times."""
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1',
               PYTHON=sys.executable)
    train = [sys.executable, 'tools/train.py', PEFD_FMNIST, *options_to_argv(
        tiny_run_options(digits_root, **{'model.teacher_ckpt': teacher_ckpt,
                                         'train_cfg.max_epochs': 1}))]
    commands = dict(
        COMMANDS,
        train=train + ['--work-dir', str(tmp_path_factory.mktemp('eager'))],
        # Compiling takes minutes on 2 cores: dynamo is switched off, so this
        # run shows the flag reaching MMEngine, not compiled speed (that is
        # what benchmarks/throughput.py --compile measures).
        train_flags=train + [
            '--work-dir', str(tmp_path_factory.mktemp('flags')),
            '--channels-last', '--compile'])
    procs = {
        name: subprocess.Popen(
            cmd, cwd=REPO, text=True, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env, TORCHDYNAMO_DISABLE='1')
            if name == 'train_flags' else env)
        for name, cmd in commands.items()
    }
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        results[name] = (proc.returncode, out, err)
    return results


def lines_of(outputs, name):
    code, out, err = outputs[name]
    assert code == 0, f'{name} exited {code}:\n{out[-2000:]}\n{err[-3000:]}'
    return out.strip().splitlines()


@pytest.mark.slow
@pytest.mark.parametrize('name',
                         ['overhead', 'ensemble', 'memory', 'cheap_teacher',
                          'data_pipeline', 'teacher_cache'])
def test_benchmark_prints_figures_and_ends_with_a_verdict(outputs, name):
    lines = lines_of(outputs, name)
    assert VERDICT.match(lines[-1]), lines[-1]
    figures = dict(line.split('=', 1) for line in lines[:-1])
    assert all(FIGURE.match(line) for line in lines[:-1]), lines
    assert figures['mode'] == 'quick'
    assert figures['machine'] and figures['torch'] == torch.__version__


@pytest.mark.slow
def test_overhead_reports_both_ratios_for_both_pairs(outputs):
    figures = dict(line.split('=', 1)
                   for line in lines_of(outputs, 'overhead')[:-1])
    for pair in ('r34_r18', 'r32x4_r8x4'):
        for key in ('plugin_over_plain', 'plain_over_limit', 'plugin_s',
                    'projector_and_loss_ms'):
            assert float(figures[f'{pair}.{key}']) > 0
        # plain is the plugin's computation: the same loss on one step.
        assert float(figures[f'{pair}.loss_rel_gap_plugin_vs_plain']) < 1e-5


@pytest.mark.slow
def test_cheap_teacher_reports_step_floor_and_teacher_for_both_pairs(
        outputs):
    figures = dict(line.split('=', 1)
                   for line in lines_of(outputs, 'cheap_teacher')[:-1])
    assert figures['teacher_memory_format'] == 'channels_last'
    for pair in ('r34_r18', 'r32x4_r8x4'):
        assert figures[f'{pair}.teacher_dtype'] in ('bf16', 'fp32')  # auto
        for key in ('cheap_s', 'fp32_s', 'limit_s', 'floor_s',
                    'cheap_over_limit', 'floor_over_limit',
                    'cheap_over_floor', 'teacher_cheap_over_fp32'):
            assert float(figures[f'{pair}.{key}']) > 0
        # The floor is the student step alone: it skips the teacher's
        # forward, so it is cheaper than the limit whatever the machine.
        assert float(figures[f'{pair}.floor_over_limit']) < 1


@pytest.mark.slow
def test_teacher_cache_reports_steps_and_the_cache_cost_for_both_pairs(
        outputs):
    figures = dict(line.split('=', 1)
                   for line in lines_of(outputs, 'teacher_cache')[:-1])
    assert figures['cache_rows'] == '512'
    for pair, views in (('fmnist_study', '50'), ('r32x4_r8x4', '162')):
        assert figures[f'{pair}.views'] == views
        for key in ('cached_ms', 'online_ms', 'limit_ms', 'floor_ms',
                    'student_only_ms', 'build_forwards_per_s'):
            assert float(figures[f'{pair}.{key}']) > 0
        ratio = (float(figures[f'{pair}.cached_ms']) /
                 float(figures[f'{pair}.floor_ms']))
        assert float(figures[f'{pair}.cached_over_floor']) == \
            pytest.approx(ratio, rel=0.5)  # a median of ratios, not a ratio
        # The projected cache: rows x views x (64 or 256) fp16 values.
        width = 64 if pair == 'fmnist_study' else 256
        images = 60000 if pair == 'fmnist_study' else 50000
        assert float(figures[f'{pair}.projected_cache_gb']) == pytest.approx(
            images * int(views) * width * 2 / 1e9, rel=1e-3)


@pytest.mark.slow
def test_data_pipeline_batches_are_the_same_with_either_pipeline(outputs):
    figures = dict(line.split('=', 1)
                   for line in lines_of(outputs, 'data_pipeline')[:-1])
    # Not a timing: the two pipelines' batches compared tensor by tensor.
    assert figures['same_batches'] == 'True'
    for key in ('pair_batch_s', 'fused_batch_s', 'pair_step_s',
                'fused_step_s', 'fused_over_pair_batch',
                'fused_over_pair_step'):
        assert float(figures[key]) > 0


@pytest.mark.slow
def test_ensemble_covers_every_width_and_ensemble_size(outputs):
    figures = dict(line.split('=', 1)
                   for line in lines_of(outputs, 'ensemble')[:-1])
    for width in (256, 512, 1024, 2048):
        for q in (1, 2, 3, 4, 8):
            assert float(figures[f'w{width}_q{q}.loop_over_fused']) > 0


@pytest.mark.slow
def test_memory_accounts_agree_on_the_step_peak(outputs):
    figures = dict(line.split('=', 1)
                   for line in lines_of(outputs, 'memory')[:-1])
    for variant in ('plugin', 'plain', 'limit'):
        tensor = float(figures[f'r32x4_r8x4.{variant}.tensor_step_mb'])
        rss = float(figures[f'r32x4_r8x4.{variant}.rss_step_mb'])
        assert tensor > 0 and rss > 0
        # Two independent accounts of the same step's memory.
        assert 0.5 < rss / tensor < 2.0


@pytest.mark.slow
def test_gpu_script_smoke_runs_every_precision_on_cpu(outputs):
    lines = lines_of(outputs, 'gpu')
    verdicts = [line for line in lines if line.startswith('verdict=')]
    assert len(verdicts) == 5 and all(VERDICT.match(v) for v in verdicts)
    figures = dict(line.split('=', 1) for line in lines
                   if not line.startswith('verdict='))
    for tag in ('none', 'bf16', 'bf16_cl', 'none_teacher_bf16_cl',
                'bf16_cl_teacher_bf16_cl'):
        for variant in ('plugin', 'plain', 'limit', 'student_only'):
            assert float(figures[f'{tag}.{variant}.img_per_s']) > 0


def test_plugin_step_keeps_nothing_of_the_teacher_for_backward(
        monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(REPO, 'benchmarks'))
    from common import Workload
    work = Workload('r32x4_r8x4', batch=2)
    work.plugin_step()
    distiller = work.algorithm.distiller
    feature = distiller.get_record('feat', from_student=False, data_idx=0)
    assert not feature.requires_grad and feature.grad_fn is None
    assert not work.algorithm.teacher.training
    assert all(p.grad is None for p in work.algorithm.teacher.parameters())


def test_fp16_autocast_keeps_the_distill_loss_finite_on_large_features():
    """What ``--amp fp16`` relies on: the ensemble runs in fp16, where the
    squared norm of large features overflows, and the loss still comes out
    finite and equal to the fp32 one (it upcasts before normalising)."""
    from mmengine.config import Config
    from mmrazor.registry import MODELS
    cfg = Config.fromfile(
        os.path.join(REPO, 'configs/projkd/imagenet/'
                     'pefd_resnet34_resnet18_100e_in1k.py'))
    # The components live in mmrazor's registry, whatever scope an earlier
    # test left as the default.
    connector = MODELS.build(
        dict(cfg.model.distiller.connectors.projector, _scope_='mmrazor'))
    loss = MODELS.build(
        dict(cfg.model.distiller.distill_losses.loss_pefd, _scope_='mmrazor'))
    torch.manual_seed(0)
    s, t = torch.rand(8, 512) * 300, torch.rand(8, 512) * 300
    with torch.autocast('cpu', dtype=torch.float16):
        projected = connector(s)
        assert projected.dtype == torch.float16
        assert not torch.isfinite((projected * projected).sum())
        value = loss(projected, t.half())
    assert value.dtype == torch.float32 and torch.isfinite(value)
    torch.testing.assert_close(value, loss(connector(s), t), rtol=1e-2,
                               atol=1e-3)


def logged_losses(out):
    """The loss terms of every logged training iteration."""
    return [[float(v) for v in re.findall(r'loss(?:_pefd)?: ([\d.]+)', line)]
            for line in out.splitlines() if 'Epoch(train)' in line]


@pytest.mark.slow
def test_train_tool_channels_last_and_compile_flags_keep_the_losses(
        outputs):
    _, eager, _ = outputs['train']
    code, flags, err = outputs['train_flags']
    assert code == 0, err[-3000:]
    assert 'Model has been "compiled"' in flags  # cfg.compile reached it
    expected, got = logged_losses(eager), logged_losses(flags)
    assert expected and len(got) == len(expected)
    torch.testing.assert_close(torch.tensor(got), torch.tensor(expected),
                               rtol=1e-3, atol=1e-3)
