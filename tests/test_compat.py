"""projkd_mm.compat: what ``import projkd_mm`` changes (only what mmrazor
needs to import), and each opt-in shown fixing its symptom.

Every check runs in a fresh interpreter, because the point is what the
import changes in a process that has not imported projkd_mm yet.
"""
import os.path as osp
import re
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          cwd=REPO, capture_output=True, text=True,
                          timeout=180)


@pytest.mark.slow
def test_mmrazor_models_import_after_projkd_mm():
    proc = python('import projkd_mm, mmrazor.models, mmrazor.engine\n'
                  'from mmrazor.registry import MODELS\n'
                  "assert MODELS.get('SingleTeacherDistill')\n"
                  "assert MODELS.get('ProjectorEnsembleConnector')\n"
                  "print('OK')")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'OK' in proc.stdout


@pytest.mark.slow
def test_without_the_compat_layer_mmrazor_fails_as_documented():
    """The symptom compat.py names; skipped once upstream fixes it."""
    proc = python('import mmrazor.models')
    if proc.returncode == 0:
        pytest.skip('this mmrazor/torch pair imports without the patches')
    assert '`torch>=1.13` is not installed properly' in proc.stderr


# Collected before and after ``import projkd_mm`` in one fresh process:
# every upstream object a plugin could patch, by identity.
UPSTREAM_OBJECTS = '''
import warnings, torch
from torch import nn
import mmengine.fileio.backends as backends
from mmengine.fileio.backends import LocalBackend
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.dist import utils as dist_utils
from mmengine.model.wrappers import MMDistributedDataParallel
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.config import utils as config_utils


def snapshot():
    objects = {
        'LocalBackend.put': LocalBackend.put,
        'LocalBackend.put_text': LocalBackend.put_text,
        'nn.SyncBatchNorm.forward': nn.SyncBatchNorm.forward,
        'DDP sync-BN check':
            nn.parallel.DistributedDataParallel._passing_sync_batchnorm_handle,
        'mmengine _init_dist_pytorch': dist_utils._init_dist_pytorch,
        'MMDistributedDataParallel.__init__':
            MMDistributedDataParallel.__init__,
        'DefaultOptimWrapperConstructor.__call__':
            DefaultOptimWrapperConstructor.__call__,
        'torch.load': torch.load,
        'safe globals': tuple(map(str,
                                  torch.serialization.get_safe_globals())),
        'warnings filters': tuple(map(str, warnings.filters)),
    }
    objects.update({f'backend {name!r}': cls
                    for name, cls in backends.backends.items()})
    objects.update({f'loader scheme {prefix!r}': loader for prefix, loader
                    in CheckpointLoader._schemes.items()})
    objects.update({f'config package {module!r}': package for module, package
                    in config_utils.MODULE2PACKAGE.items()})
    return objects
'''

MMRAZOR_OBJECTS = '''
def mmrazor_snapshot():
    from mmrazor.models.algorithms.base import BaseAlgorithm
    from mmrazor.models.task_modules.recorder import (ModuleOutputsRecorder,
                                                      ParameterRecorder)
    from mmrazor.models.task_modules.recorder.base_recorder import (
        BaseRecorder)
    from mmrazor.models.distillers import ConfigurableDistiller
    return {
        'BaseAlgorithm.set_module_inplace_false':
            BaseAlgorithm.set_module_inplace_false,
        'ModuleOutputsRecorder.prepare_from_model':
            ModuleOutputsRecorder.prepare_from_model,
        'ParameterRecorder.prepare_from_model':
            ParameterRecorder.prepare_from_model,
        'BaseRecorder.get_record_data': BaseRecorder.get_record_data,
        'ConfigurableDistiller.get_record': ConfigurableDistiller.get_record,
    }
'''


def third_party_modules_of_the_import():
    """The modules ``import projkd_mm`` loads that are neither ours nor
    mmrazor's (whose import needs the import-time workaround)."""
    proc = python('import sys, projkd_mm\n'
                  'print(" ".join(sorted(sys.modules)))')
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [name for name in proc.stdout.split()
            if not name.startswith(('projkd_mm', 'mmrazor', '__main__'))]


@pytest.mark.slow
def test_import_changes_no_upstream_object():
    """The storage backends, checkpoint loaders, SyncBatchNorm, DDP,
    mmengine's distributed init and optimizer constructor, torch's load
    and allowlist, and the warning filters are the very objects they were
    before ``import projkd_mm``; mmrazor's recorder and algorithm methods
    are the ones of mmrazor's own modules. Only new names are added (our
    'atomic_local' backend, the 'projkd_mm' entry of mmengine's package
    table for ``projkd_mm::`` bases). The third-party modules the import
    loads are loaded first, so what they set up themselves (torch's own
    allowlist entries, scipy's warning filters) is not counted as ours."""
    modules = third_party_modules_of_the_import()
    proc = python(UPSTREAM_OBJECTS + MMRAZOR_OBJECTS + f'''
import importlib
for name in {modules!r}:
    try:
        importlib.import_module(name)
    except Exception:
        pass
''' + '''
before = snapshot()
import projkd_mm
after = snapshot()
changed = [k for k in before if k in after and after[k] is not before[k]
           and after[k] != before[k]]
assert not changed, changed
added = sorted(set(after) - set(before))
assert added == ["backend 'atomic_local'",
                 "config package 'projkd_mm'"], added
for name, fn in mmrazor_snapshot().items():
    assert fn.__module__.startswith('mmrazor.'), (name, fn.__module__)
print(projkd_mm.compat.applied_patches())
print('UNCHANGED')
''')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'UNCHANGED' in proc.stdout
    # At most the import-time workarounds, and only where needed.
    applied = eval(proc.stdout.splitlines()[0])
    assert set(applied) <= {'torch-quantization-names', 'config-package-name'}


@pytest.mark.slow
def test_each_opt_in_changes_what_it_names_and_nothing_else():
    proc = python(UPSTREAM_OBJECTS + MMRAZOR_OBJECTS + '''
import projkd_mm
from projkd_mm import compat
expected = {
    'safe-checkpoint-loading': {"loader scheme ''",
                                "loader scheme 'http://'",
                                "loader scheme 'https://'"},
    'quiet-upstream-warnings': {'warnings filters'},
}
for name, names in expected.items():
    if not compat.WORKAROUNDS[name].needed():
        print('NOT NEEDED', name)
        continue
    before = snapshot()
    assert compat.enable(name) == [name]
    after = snapshot()
    changed = {k for k in before if after[k] is not before[k]
               and after[k] != before[k]}
    if name == 'safe-checkpoint-loading':
        # mmengine's other schemes are guarded too: loaders only.
        assert names <= changed, changed
        assert all(k.startswith('loader scheme') for k in changed), changed
    else:
        assert changed == names, (name, changed)
    assert compat.enable(name) == []  # once only
from mmrazor.models.algorithms.base import BaseAlgorithm
if compat.WORKAROUNDS['set-module-inplace-false'].needed():
    compat.enable('set-module-inplace-false')
    assert BaseAlgorithm.set_module_inplace_false.__module__ == \\
        'projkd_mm.models.algorithms.inplace'
print('OK')
''')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'OK' in proc.stdout


@pytest.mark.slow
def test_opt_ins_fix_their_symptoms(tmp_path):
    """safe-checkpoint-loading: mmengine's loader reads its own checkpoints
    (HistoryBuffer, numpy scalars) safely; plain ``torch.load`` keeps
    torch's allowlist. set-module-inplace-false: an upstream algorithm's
    ReLUs are switched off. quiet-upstream-warnings: the two import
    warnings are filtered by message."""
    ckpt = tmp_path / 'ckpt.pth'
    make = python(f'''
import torch, numpy as np
from mmengine.logging import MessageHub
hub = MessageHub.get_instance('x')
hub.update_scalar('train/loss', np.float32(0.5))
hub.update_info('eta', np.float64(3.0))
torch.save({{'message_hub': hub.state_dict(),
            'state_dict': {{'w': torch.ones(2)}}}}, {str(ckpt)!r})
''')
    assert make.returncode == 0, make.stderr[-2000:]
    load = f'''
from mmengine.runner.checkpoint import _load_checkpoint
ckpt = _load_checkpoint({str(ckpt)!r})
buf = ckpt['message_hub']['log_scalars']['train/loss']
assert type(buf).__name__ == 'HistoryBuffer', type(buf)
assert abs(buf.current() - 0.5) < 1e-6
assert ckpt['message_hub']['runtime_info']['eta'] == 3.0
print('LOADED')
'''
    plain = f'import torch\ntorch.load({str(ckpt)!r})\nprint("LOADED")'
    upstream = python('import projkd_mm\n' + load)
    if upstream.returncode == 0:
        pytest.skip('this torch/mmengine pair loads its checkpoints')
    assert 'HistoryBuffer' in upstream.stderr
    opted_in = python("import projkd_mm\n"
                      "projkd_mm.compat.enable('safe-checkpoint-loading')\n"
                      + load + plain)
    assert 'LOADED' in opted_in.stdout, opted_in.stderr[-3000:]
    # ... while torch itself is untouched: the plain load still refuses.
    assert opted_in.returncode != 0 and 'HistoryBuffer' in opted_in.stderr

    inplace = '''
import projkd_mm
from mmrazor.models.algorithms import SingleTeacherDistill
from mmrazor.registry import MODELS
net = dict(type='mmpretrain.ImageClassifier',
           backbone=dict(type='mmpretrain.ResNet', depth=18),
           neck=dict(type='mmpretrain.GlobalAveragePooling'))
{enable}
algo = SingleTeacherDistill(architecture=net, teacher=net,
                            distiller=dict(type='ConfigurableDistiller'))
print(sorted({{m.inplace for m in algo.modules() if hasattr(m, 'inplace')}}))
'''
    upstream = python(inplace.format(enable=''))
    assert upstream.returncode == 0, upstream.stderr[-3000:]
    if upstream.stdout.strip() == '[False]':
        pytest.skip('this mmrazor switches in-place ops off by itself')
    assert upstream.stdout.strip() == '[True]'
    fixed = python(inplace.format(
        enable="projkd_mm.compat.enable('set-module-inplace-false')"))
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert fixed.stdout.strip() == '[False]'


@pytest.mark.slow
def test_our_algorithm_switches_in_place_ops_off_so_recorders_see_the_output():
    """A recorder on the last BN of a ResNet-18 block records that BN's
    output, not the tensor the in-place ReLU after it overwrote."""
    proc = python('''
import torch, projkd_mm
from mmrazor.registry import MODELS
net = dict(type='mmpretrain.ImageClassifier',
           backbone=dict(type='mmpretrain.ResNet', depth=18),
           neck=dict(type='mmpretrain.GlobalAveragePooling'))
source = 'backbone.layer1.0.bn2'
rec = dict(bn=dict(type='ModuleOutputs', source=source))
algo = MODELS.build(dict(
    type='CheckedSingleTeacherDistill', architecture=net, teacher=net,
    allow_random_teacher=True,
    distiller=dict(type='CheckedConfigurableDistiller',
                   student_recorders=rec, teacher_recorders=rec)))
assert not any(getattr(m, 'inplace', False) for m in algo.modules())
algo.eval()
x = torch.randn(2, 3, 32, 32)
with algo.distiller.student_recorders:
    algo.architecture.extract_feat(x)
out = algo.distiller.get_record('bn', True)
assert (out < 0).any(), 'the recorded BN output was overwritten by a ReLU'
print('OK')
''')
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_pytest_silences_the_compat_list_which_pyproject_does_not_repeat(
        pytestconfig):
    from projkd_mm import compat
    ini = pytestconfig.getini('filterwarnings')
    with open(osp.join(REPO, 'pyproject.toml')) as f:
        pyproject = f.read()
    for message, category in compat.UPSTREAM_WARNINGS:
        assert f'ignore:{message}:{category.__name__}' in ini
        assert message not in pyproject


def test_unlisted_warnings_are_reissued_and_listed_ones_dropped():
    import warnings

    from projkd_mm import compat
    listed, category = compat.UPSTREAM_WARNINGS[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        warnings.warn(listed + ' (from an upstream import)', category)
        warnings.warn('an unlisted warning', UserWarning)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter('always')
        compat.reissue_unlisted_warnings(caught)
    assert [str(w.message) for w in shown] == ['an unlisted warning']
    assert shown[0].filename == caught[1].filename


def test_tools_silence_the_compat_list_and_nothing_else():
    """The tools' import of projkd_mm drops the listed warnings (and adds
    an entry to the list to show that it reads it), shows every other."""
    tools = osp.join(REPO, 'tools')
    proc = python(f'''
import sys, warnings
sys.path.insert(0, {tools!r})
from projkd_tools import cli
projkd_mm = cli.import_projkd_mm()
warnings.warn('an unlisted test warning')
projkd_mm.compat.UPSTREAM_WARNINGS += (('a listed test warning',
                                        UserWarning),)
projkd_mm.compat.reissue_unlisted_warnings(
    [warnings.WarningMessage('a listed test warning', UserWarning, 'x', 1)])
''')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'an unlisted test warning' in proc.stderr
    assert 'a listed test warning' not in proc.stderr
    # What a plain import shows here (mmcv-lite: the missing
    # MultiScaleDeformableAttention), the tools do not.
    from projkd_mm import compat
    for message, _ in compat.UPSTREAM_WARNINGS:
        assert not re.search(message, proc.stderr)


def test_recorder_errors_keep_upstream_assertion_contract():
    from projkd_mm.models.distillers import (
        RecorderSourceError,
        RecordIndexError,
        RecordTypeError,
    )
    for cls, base in ((RecorderSourceError, ValueError),
                      (RecordIndexError, IndexError),
                      (RecordTypeError, TypeError)):
        assert issubclass(cls, AssertionError) and issubclass(cls, base)


def test_mmcls_components_of_mmrazor_are_listed_as_not_working():
    """docs/faq.md lists them; this shows they are what it says (skipped
    where mmcls itself is installed)."""
    from projkd_mm import compat
    if not compat.WORKAROUNDS['mmcls-components-of-mmrazor'].needed():
        pytest.skip('mmcls is importable here')
    import torch
    from mmrazor.registry import MODELS, TRANSFORMS
    loss = MODELS.build(dict(type='KDSoftCELoss', _scope_='mmrazor'))
    with pytest.raises(TypeError, match='PlaceHolder'):
        loss(torch.randn(2, 5), torch.randn(2, 5))
    with pytest.raises(ImportError, match='`mmcls` is not installed'):
        TRANSFORMS.build(dict(type='PackCRDClsInputs', _scope_='mmrazor'))


def test_unknown_or_non_patch_names_are_clear_errors():
    from projkd_mm import compat
    with pytest.raises(ValueError, match="Closest: 'safe-checkpoint-loading'"):
        compat.enable('safe-checkpoint-loadin')
    with pytest.raises(ValueError, match="is not a patch; it is applied by"):
        compat.enable('atomic-checkpoint-writes')


def test_docs_list_the_workarounds_from_the_one_table():
    from projkd_mm import compat
    with open(osp.join(REPO, 'docs', 'faq.md')) as f:
        faq = f.read()
    assert compat.markdown_table() in faq, (
        'docs/faq.md is out of date: paste the output of '
        '`python -m projkd_mm.compat` into it')
    assert not re.search(r'\bentry \d+\b', faq)


def test_print_env_reports_versions_and_workarounds(capsys):
    import projkd_mm
    projkd_mm.print_env()
    out = capsys.readouterr().out
    for name in ('projkd_mm', 'torch', 'mmengine', 'mmcv', 'mmpretrain',
                 'mmrazor', 'compatibility patches applied'):
        assert f'{name}:' in out
    assert projkd_mm.__version__ in out
    from projkd_mm import compat
    for name in compat.WORKAROUNDS:
        assert f'workaround {name}: ' in out


def test_project_tests_are_not_an_importable_tests_package():
    # mmrazor's wheel ships a top-level ``tests`` package.
    assert not osp.exists(osp.join(REPO, 'tests', '__init__.py'))
