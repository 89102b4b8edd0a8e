"""Hostile checkpoints: none runs code, crashes us, bloats memory or
changes the process; each is refused with a message saying why.

The files are crafted here the way an attacker would (``__reduce__``), and
every load path is run in a fresh interpreter, so a segfault shows up as
rc 139 instead of killing pytest.
"""
import http.server
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from conftest import (
    PEFD_FMNIST,
    REPO,
    options_to_argv,
    tiny_run_options,
)
from numpy._core import multiarray

from projkd_mm.utils.safe_load import (
    CheckpointError,
    UnsafeCheckpointError,
    load_checkpoint_file,
)


class Reduce:
    """Pickles as ``rv``: the call an unpickler makes to rebuild it."""

    def __init__(self, *rv):
        self.rv = rv

    def __reduce__(self):
        return self.rv


def craft(tmp_path, kind: str) -> str:
    """A checkpoint whose ``x`` entry makes the unpickler call what an
    attacker chose. Writing it calls nothing (pickling stores the call),
    so it is written here; every load runs in a fresh interpreter."""
    payload = {
        # A void dtype with a hidden object field: the scalar holds a
        # pointer.
        'segv': Reduce(multiarray.scalar,
                       (np.dtype([('a', 'O')]), b'\x41' * 8)),
        'void': Reduce(multiarray.scalar, (np.dtype('V4'), b'\0' * 4)),
        'bytearray': Reduce(bytearray, (3 * 10 ** 9,)),
        'code': Reduce(eval, ('print("PWNED")',)),
    }[kind]
    out = str(tmp_path / f'{kind}.pth')
    torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': {}, 'x': payload},
               out)
    assert os.path.getsize(out) < 4096
    return out


def python(code: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **(env or {})))


LOAD_PATHS = '''
import sys, projkd_mm
projkd_mm.compat.enable('safe-checkpoint-loading')
from mmengine.runner.checkpoint import _load_checkpoint
from projkd_mm.utils.safe_load import (UnsafeCheckpointError,
                                       load_checkpoint_file)
from projkd_mm.utils.export import export_submodel
path = sys.argv[1]
for name, load in (('loader', lambda: load_checkpoint_file(path)),
                   ('mmengine', lambda: _load_checkpoint(path)),
                   ('export', lambda: export_submodel(path, path + '.out'))):
    try:
        load()
    except UnsafeCheckpointError as err:
        print(name, 'REFUSED', str(err).splitlines()[0])
    else:
        print(name, 'LOADED')
'''


@pytest.mark.slow
@pytest.mark.parametrize('kind', ['segv', 'void', 'bytearray', 'code'])
def test_crafted_checkpoints_are_refused_on_every_load_path(tmp_path, kind):
    path = craft(tmp_path, kind)
    proc = subprocess.run([sys.executable, '-c', LOAD_PATHS, path],
                          cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-3000:])
    assert 'PWNED' not in proc.stdout
    for name in ('loader', 'mmengine', 'export'):
        assert f'{name} REFUSED' in proc.stdout, proc.stdout
    assert not os.path.exists(path + '.out')
    reason = {'segv': 'only numeric dtypes', 'void': 'only numeric dtypes',
              'bytearray': 'bytearray',
              'code': 'builtins.eval'}[kind]
    assert reason in proc.stdout


@pytest.mark.slow
def test_converter_refuses_a_crashing_checkpoint(tmp_path, run_tool):
    path = craft(tmp_path, 'segv')
    proc = run_tool('tools/model_converters/repdistiller_to_mmpretrain.py',
                    path, str(tmp_path / 'out.pth'), '--arch', 'resnet8x4',
                    check=False)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert 'error: Refusing to unpickle' in proc.stderr
    assert 'only numeric dtypes' in proc.stderr


@pytest.mark.slow
def test_plain_torch_still_refuses_the_crashing_file_after_import(tmp_path):
    """Our safe constructors apply to our loads only."""
    path = craft(tmp_path, 'segv')
    proc = python(f'import projkd_mm, torch\ntorch.load({path!r})')
    assert proc.returncode == 1, proc.returncode
    assert 'Unsupported global' in proc.stderr


def test_numeric_numpy_data_round_trips(tmp_path):
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    buf = HistoryBuffer(max_length=7)
    for value in (1.0, 2.0, 4.0):
        buf.update(value)
    data = {'a': np.arange(6, dtype='>i4').reshape(2, 3),
            'f': np.asfortranarray(np.ones((2, 3), dtype=np.float32)),
            'empty': np.zeros(0), 'scalar': np.float64(2.5),
            'flag': np.bool_(True), 'c': np.complex64(1 + 2j), 'buf': buf}
    path = str(tmp_path / 'data.pth')
    torch.save(data, path)
    got = load_checkpoint_file(path)
    for key in ('a', 'f', 'empty'):
        assert type(got[key]) is np.ndarray
        assert got[key].dtype == data[key].dtype
        np.testing.assert_array_equal(got[key], data[key])
    assert got['scalar'] == 2.5 and type(got['scalar']) is np.float64
    assert got['flag'] and got['c'] == data['c']
    assert type(got['buf']) is HistoryBuffer
    assert got['buf'].max_length == 7 and got['buf'].mean() == buf.mean()


def test_loading_cannot_change_history_buffer_statistics(tmp_path):
    """A pickled buffer's statistics methods must not reach the class."""
    from mmengine.logging.history_buffer import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(1.0)
    # __getstate__ pickles the instance's view of the statistics methods;
    # plain unpickling would merge them into the class-level dict.
    buf._statistics_methods = {'mean': HistoryBuffer.max,
                               'evil': HistoryBuffer.min}
    forged = buf

    path = str(tmp_path / 'forged.pth')
    torch.save({'buf': forged}, path)
    before = dict(HistoryBuffer._statistics_methods)
    loaded = load_checkpoint_file(path)['buf']
    assert HistoryBuffer._statistics_methods == before
    assert 'evil' not in HistoryBuffer._statistics_methods
    assert loaded.mean() == 1.0


def test_code_carrying_keys_are_dropped(tmp_path):
    path = str(tmp_path / 'cfg.pth')
    torch.save({'meta': {'config': 'import os', 'cfg': 'x = 1', 'epoch': 1},
                'message_hub': {'runtime_info': {'cfg': 'y = 2', 'iter': 3}},
                'state_dict': {'w': torch.ones(1)}}, path)
    got = load_checkpoint_file(path)
    assert got['meta'] == {'epoch': 1}
    assert got['message_hub']['runtime_info'] == {'iter': 3}


@pytest.mark.slow
def test_resume_does_not_execute_meta_config(tmp_path, digits_root,
                                              teacher_ckpt, run_tool):
    work = tmp_path / 'work'
    argv = options_to_argv(
        tiny_run_options(digits_root, **{'model.teacher_ckpt': teacher_ckpt}))
    run_tool('tools/train.py', PEFD_FMNIST, '--work-dir', str(work), *argv)
    marker = tmp_path / 'PWNED'
    ckpt = load_checkpoint_file(str(work / 'epoch_1.pth'))
    ckpt['meta']['config'] = (f'import pathlib\n'
                              f'pathlib.Path({str(marker)!r}).touch()\n')
    evil = tmp_path / 'evil.pth'
    torch.save(ckpt, evil)
    argv2 = options_to_argv(tiny_run_options(
        digits_root, **{'model.teacher_ckpt': teacher_ckpt,
                        'train_cfg.max_epochs': 2}))
    out = run_tool('tools/train.py', PEFD_FMNIST, '--work-dir', str(work),
                   '--resume', str(evil), *argv2).stdout
    assert 'resumed epoch: 1' in out
    assert not marker.exists()


class _Quiet(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_urls_use_the_policy_even_when_torch_is_told_not_to(tmp_path):
    """TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 must not open a URL load up."""
    path = craft(tmp_path, 'code')
    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0),
        lambda *a: _Quiet(*a, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f'http://127.0.0.1:{server.server_port}/{os.path.basename(path)}'
        proc = python(
            'import projkd_mm\n'
            "projkd_mm.compat.enable('safe-checkpoint-loading')\n"
            'from mmengine.runner.checkpoint import _load_checkpoint\n'
            f'_load_checkpoint({url!r})\n',
            env={'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD': '1',
                 'TORCH_HOME': str(tmp_path / 'hub')})
    finally:
        server.shutdown()
    assert 'PWNED' not in proc.stdout
    assert proc.returncode == 1
    assert 'UnsafeCheckpointError' in proc.stderr
    assert 'builtins.eval' in proc.stderr


@pytest.mark.slow
def test_other_mmengine_schemes_refused_when_weights_only_is_forced_off():
    proc = python(
        'import projkd_mm\n'
        "projkd_mm.compat.enable('safe-checkpoint-loading')\n"
        'from mmengine.runner.checkpoint import _load_checkpoint\n'
        "_load_checkpoint('torchvision://resnet18')\n",
        env={'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD': '1'})
    assert proc.returncode == 1
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set' in proc.stderr


def test_damage_and_refusal_are_told_apart(tmp_path):
    import tarfile
    legacy = tmp_path / 'legacy.tar'
    with tarfile.open(legacy, 'w') as tar:
        tar.add(__file__, arcname='storages')
    with pytest.raises(UnsafeCheckpointError, match='legacy tar'):
        load_checkpoint_file(str(legacy))

    proto4 = tmp_path / 'proto4.pth'
    torch.save({'w': torch.ones(1)}, proto4, pickle_protocol=4)
    with pytest.raises(UnsafeCheckpointError, match='protocol-4'):
        load_checkpoint_file(str(proto4))

    good = tmp_path / 'good.pth'
    torch.save({'w': torch.ones(1)}, good)
    data = good.read_bytes()
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated or corrupt') as err:
        load_checkpoint_file(str(cut))
    assert not isinstance(err.value, UnsafeCheckpointError)


def rewrite_entry(path, suffix: str, write, deflate: bool = False) -> None:
    """Rewrite the zip entry of ``path`` ending in ``suffix`` with
    ``write(file, old_data)`` (DEFLATE-compressed with ``deflate``); the
    other entries as they were."""
    import zipfile
    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, 'w') as out:
        for info, data in entries:
            if not info.filename.endswith(suffix):
                out.writestr(info, data)
                continue
            if deflate:
                info.compress_type = zipfile.ZIP_DEFLATED
            with out.open(info, 'w', force_zip64=True) as f:
                write(f, data)


def nested_checkpoint(tmp_path, depth: int) -> str:
    """A real checkpoint whose ``meta['dataset_meta']`` is a list nested
    ``depth`` deep, its pickle written by hand (``torch.save`` of such a
    list would itself crash)."""
    path = str(tmp_path / f'nested{depth}.pth')
    torch.save({'state_dict': {'w': torch.ones(1)},
                'meta': {'dataset_meta': 'PLACEHOLDER'}}, path)
    placeholder = b'X\x0b\x00\x00\x00PLACEHOLDER'
    nested = b']' * depth + b'a' * (depth - 1)  # EMPTY_LIST..., APPEND...
    rewrite_entry(path, 'data.pkl', lambda f, data: f.write(
        data.replace(placeholder, nested)))
    return path


@pytest.mark.parametrize('depth', [300_000, 1_200_000])
def test_deeply_nested_checkpoints_are_refused_for_their_depth(tmp_path,
                                                               depth):
    """A 600 KB file nested 300,000 lists deep used to load, then crash
    torch.save (SIGSEGV) in export and resume; 1.2 M deep was called
    truncated. Both are refused, saying why."""
    path = nested_checkpoint(tmp_path, depth)
    with pytest.raises(UnsafeCheckpointError,
                       match=r'nests containers more than \d+ levels deep'):
        load_checkpoint_file(path)


def test_a_shallow_nesting_still_loads(tmp_path):
    path = nested_checkpoint(tmp_path, 20)
    got = load_checkpoint_file(path)['meta']['dataset_meta']
    for _ in range(19):
        got = got[0]
    assert got == []


def test_a_compressed_entry_that_expands_past_the_file_is_not_read(
        tmp_path):
    """A valid pickle followed by 64 MiB of zeros, DEFLATE-compressed into
    a file of some 100 KB, is refused before any of it is decompressed."""
    import tracemalloc
    path = str(tmp_path / 'bomb.pth')
    torch.save({'state_dict': {'w': torch.ones(1)}}, path)

    def pickle_then_zeros(f, data):
        f.write(data)
        zeros = bytes(1 << 20)
        for _ in range(64):
            f.write(zeros)

    rewrite_entry(path, 'data.pkl', pickle_then_zeros, deflate=True)
    assert os.path.getsize(path) < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeCheckpointError,
                           match='would expand to') as err:
            load_checkpoint_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert path in str(err.value)
    assert peak < 8 << 20, peak


def test_a_directory_given_as_a_checkpoint_is_called_a_directory(tmp_path):
    with pytest.raises(CheckpointError, match='is a directory, not a '
                       'checkpoint file') as err:
        load_checkpoint_file(str(tmp_path), 'teacher checkpoint')
    assert 'does not exist' not in str(err.value)
