"""projkd_mm.compat: each upstream break it mends, shown gone.

Every check runs in a fresh interpreter, because the point is what
``import projkd_mm`` changes in a process that has not imported it yet.
"""
import subprocess
import sys

import pytest
from conftest import REPO


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_mmrazor_models_import_after_projkd_mm():
    proc = python('import projkd_mm, mmrazor.models, mmrazor.engine\n'
                  'from mmrazor.registry import MODELS\n'
                  "assert MODELS.get('SingleTeacherDistill')\n"
                  "assert MODELS.get('ProjectorEnsembleConnector')\n"
                  "print('OK')")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'OK' in proc.stdout


def test_without_the_compat_layer_mmrazor_fails_as_documented():
    """The symptom compat.py names; skipped once upstream fixes it."""
    proc = python('import mmrazor.models')
    if proc.returncode == 0:
        pytest.skip('this mmrazor/torch pair imports without the patches')
    assert '`torch>=1.13` is not installed properly' in proc.stderr


def test_runner_checkpoints_load_through_mmengine_but_torch_is_untouched(
        tmp_path):
    """Resume path: mmengine's loader reads its checkpoints safely, while
    plain ``torch.load`` in the host process keeps torch's own allowlist."""
    ckpt = tmp_path / 'ckpt.pth'
    make = ('import torch, numpy as np\n'
            'from mmengine.logging import MessageHub\n'
            "hub = MessageHub.get_instance('x')\n"
            "hub.update_scalar('train/loss', np.float32(0.5))\n"
            "hub.update_info('eta', np.float64(3.0))\n"
            "torch.save({'message_hub': hub.state_dict(),\n"
            "            'state_dict': {'w': torch.ones(2)}},\n"
            f'           {str(ckpt)!r})\n')
    assert python(make).returncode == 0
    plain = f'import torch\ntorch.load({str(ckpt)!r})\nprint("LOADED")'
    before = python(plain)
    if before.returncode == 0:
        pytest.skip('this torch loads MMEngine checkpoints by default')
    assert 'HistoryBuffer' in before.stderr
    after = python('import projkd_mm\n' + plain)
    assert after.returncode != 0 and 'HistoryBuffer' in after.stderr
    via_mmengine = python(
        'import projkd_mm\n'
        'from mmengine.runner.checkpoint import _load_checkpoint\n'
        f'ckpt = _load_checkpoint({str(ckpt)!r})\n'
        "buf = ckpt['message_hub']['log_scalars']['train/loss']\n"
        "assert type(buf).__name__ == 'HistoryBuffer', type(buf)\n"
        "assert abs(buf.current() - 0.5) < 1e-6\n"
        "assert ckpt['message_hub']['runtime_info']['eta'] == 3.0\n"
        'print("LOADED")')
    assert via_mmengine.returncode == 0, via_mmengine.stderr[-3000:]
    assert 'LOADED' in via_mmengine.stdout


def test_history_buffer_getattr_refuses_other_lookups():
    from mmengine.logging.history_buffer import HistoryBuffer

    from projkd_mm.utils.checkpoint import _history_buffer_getattr
    assert 'mean' in _history_buffer_getattr(HistoryBuffer, 'mean')
    import os
    import pickle
    for obj, name in ((os, 'system'), (HistoryBuffer, '__init__'),
                      (HistoryBuffer, '__class__')):
        with pytest.raises(pickle.UnpicklingError):
            _history_buffer_getattr(obj, name)


def test_print_env_reports_versions_and_patches(capsys):
    import projkd_mm
    projkd_mm.print_env()
    out = capsys.readouterr().out
    for name in ('projkd_mm', 'torch', 'mmengine', 'mmcv', 'mmpretrain',
                 'mmrazor', 'compatibility patches applied'):
        assert f'{name}:' in out
    assert projkd_mm.__version__ in out


def test_project_tests_are_not_an_importable_tests_package():
    # mmrazor's wheel ships a top-level ``tests`` package.
    import os.path as osp
    assert not osp.exists(osp.join(REPO, 'tests', '__init__.py'))
