"""Loading checkpoints without letting them run code, crash or bloat us.

Trust policy
------------
Every checkpoint projkd_mm reads (a teacher's weights, a Runner checkpoint to
resume from or to test, a distillation checkpoint to export or convert, and,
through MMEngine's ``CheckpointLoader``, every ``load_from``/``--resume``
path or ``http(s)://`` URL) goes through :func:`load_checkpoint_file`:

1. **Pre-scan.** The file's pickle is read opcode by opcode before anything
   is built. Refused, with a message saying the content is unsafe or
   unsupported (not that the file is damaged): a legacy tar checkpoint,
   pickle protocol-4/5 opcodes the safe unpickler cannot read, any
   ``bytearray`` (a 1 KB file could ask for gigabytes), any Python global
   outside what MMEngine checkpoints hold, and any zip entry that would
   expand to more than ``MAX_EXPANSION`` times the file's size (a
   compressed entry of zeros), refused before a byte of it is
   decompressed.
2. **Safe unpickling.** ``torch.load(..., weights_only=True)``, always with
   ``weights_only`` passed explicitly (so ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``
   cannot switch it off), with a few names mapped for this one call
   (``torch.serialization.safe_globals``; nothing is added to torch's
   allowlist for the rest of the process) to *safe constructors* of ours
   instead of the real globals: numpy arrays, scalars and dtypes are rebuilt
   only for numeric dtypes (bool, int, uint, float, complex), with their
   byte counts checked against the shape, never a dtype with fields,
   sub-arrays, objects or void; mmengine's ``HistoryBuffer`` is rebuilt from
   its arrays and ``max_length`` alone, so a checkpoint cannot change the
   class-level statistics methods of every buffer in the process; the
   ``getattr`` its pickle uses only answers HistoryBuffer's statistics names.
   What is built is then walked (without recursion) and refused if its
   containers nest more than ``MAX_DEPTH`` levels deep: every later
   consumer (``torch.save``, ``copy.deepcopy``, this module) recurses over
   it, and a list nested 300,000 deep (a 600 KB file) crashes the process
   there.
3. **Inert content.** Keys that MMEngine or MMRazor would turn into code or a
   config (``meta['config']``, ``meta['cfg']``,
   ``message_hub['runtime_info']['cfg']``: ``Config.fromstring`` of a string
   executes it) are dropped from what is returned.

What is safe, then: tensors, containers, strings, numbers, numeric numpy
data and HistoryBuffers from any file; such a file cannot run code, crash
the process or allocate more than its own size justifies. A file that needs
anything else is refused with an error naming the global; a user who trusts
it can load it with plain torch and re-save its state dict.
"""
import io
import math
import os
import os.path as osp
import pickle
import pickletools
import re
import tarfile
import zipfile
from typing import Any, Dict, List, Optional

import torch


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used as asked, with the reason."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint refused for what it asks to build, not for damage."""


# --------------------------------------------------------------------------
# Safe constructors for the numpy and mmengine objects MMEngine checkpoints
# hold. While unpickling, the real names map to these; the stand-ins are
# replaced by real objects afterwards (:func:`_materialise`).

_NUMERIC_KINDS = 'biufc'
_DTYPE_SPEC = re.compile(r'^[biufc]\d{1,2}$')


def _refuse(message: str) -> None:
    raise pickle.UnpicklingError(message)


class _SafeDType:
    """Stands for a numeric ``numpy.dtype`` while unpickling."""

    dtype = None

    def __setstate__(self, state: Any) -> None:
        import numpy as np
        if self.dtype is None:
            _refuse('numpy dtype state without a dtype')
        if not (isinstance(state, tuple) and len(state) in (8, 9)
                and state[0] in (3, 4)):
            _refuse(f'unsupported numpy dtype state {state!r:.80}')
        _, byteorder, subarray, names, fields = state[:5]
        if subarray is not None or names is not None or fields is not None:
            _refuse('numpy dtype with fields or sub-arrays (only numeric '
                    'dtypes are accepted)')
        if len(state) == 9 and state[8] is not None:
            _refuse('numpy dtype with metadata')
        if byteorder not in ('<', '>', '|', '='):
            _refuse(f'numpy dtype byte order {byteorder!r}')
        if byteorder in ('<', '>'):
            self.dtype = self.dtype.newbyteorder(byteorder)
        if not isinstance(self.dtype, np.dtype):  # pragma: no cover
            _refuse('numpy dtype')


def _safe_dtype(spec: Any, align: Any = False, copy: Any = True) -> _SafeDType:
    """``numpy.dtype(spec)`` for numeric type codes such as ``'f8'``."""
    import numpy as np
    if not (isinstance(spec, str) and _DTYPE_SPEC.match(spec)):
        _refuse(f'numpy dtype {spec!r:.40}: only numeric dtypes (bool, int, '
                'uint, float, complex) are accepted')
    try:
        dtype = np.dtype(spec)
    except TypeError as err:
        _refuse(f'numpy dtype {spec!r}: {err}')
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields or dtype.subdtype:
        _refuse(f'numpy dtype {spec!r} is not numeric')
    out = _SafeDType()
    out.dtype = dtype
    return out


class _NDArrayName:
    """What the global ``numpy.ndarray`` stands for: a name, nothing else."""

    def __new__(cls, *args, **kwargs):
        _refuse('numpy.ndarray may only be named by numpy\'s own '
                'array pickles')


class _SafeArray:
    """Stands for a numeric ``numpy.ndarray`` while unpickling."""

    array = None

    def __setstate__(self, state: Any) -> None:
        import numpy as np
        if not (isinstance(state, tuple) and len(state) == 5):
            _refuse('unsupported numpy array state')
        _, shape, dtype, fortran, raw = state
        if not isinstance(dtype, _SafeDType) or dtype.dtype is None:
            _refuse('numpy array of a dtype that is not numeric')
        if not (isinstance(shape, tuple) and all(
                type(n) is int and n >= 0 for n in shape)):
            _refuse(f'numpy array shape {shape!r:.60}')
        if not isinstance(raw, bytes):
            _refuse('numpy array whose data is not raw bytes (object '
                    'arrays are refused)')
        expected = math.prod(shape) * dtype.dtype.itemsize
        if len(raw) != expected:
            _refuse(f'numpy array of shape {shape} needs {expected} bytes, '
                    f'the file holds {len(raw)}')
        array = np.frombuffer(raw, dtype=dtype.dtype).reshape(
            shape, order='F' if fortran else 'C')
        self.array = array.copy(order='K')


def _safe_reconstruct(cls: Any, shape: Any, typecode: Any) -> _SafeArray:
    """numpy's ``_reconstruct``, for plain ``ndarray`` only."""
    if cls is not _NDArrayName:
        _refuse(f'numpy _reconstruct of {cls!r:.40}: only plain ndarrays')
    return _SafeArray()


def _safe_scalar(dtype: Any, raw: Any = None) -> Any:
    """numpy's ``scalar``: one numeric value from exactly its bytes."""
    import numpy as np
    if not isinstance(dtype, _SafeDType) or dtype.dtype is None:
        _refuse('numpy scalar of a dtype that is not numeric')
    if not isinstance(raw, bytes) or len(raw) != dtype.dtype.itemsize:
        _refuse(f'numpy scalar of {dtype.dtype} needs '
                f'{dtype.dtype.itemsize} bytes')
    return np.frombuffer(raw, dtype=dtype.dtype)[0].copy()


class _SafeHistoryBuffer:
    """Stands for an mmengine ``HistoryBuffer`` while unpickling."""

    state = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            _refuse('HistoryBuffer state is not a dict')
        self.state = state


_STATISTICS_NAME = '<HistoryBuffer statistics method {}>'


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to ``HistoryBuffer``'s statistics methods.

    Returns a placeholder: the statistics methods a buffer pickles are the
    class's own and are not restored from the file.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj in (_SafeHistoryBuffer, HistoryBuffer) and isinstance(name, str) \
            and not name.startswith('_') and \
            callable(HistoryBuffer.__dict__.get(name)):
        return _STATISTICS_NAME.format(name)
    raise pickle.UnpicklingError(
        f'Refusing getattr({obj!r}, {name!r}) while unpickling: only '
        'HistoryBuffer statistics methods may be looked up.')


def _safe_bytes(*args: Any) -> bytes:
    """``bytes()``: how protocol 2 pickles empty bytes (an empty array)."""
    if args:
        _refuse('bytes(...) with arguments: only empty bytes are pickled so')
    return b''


def _stand_ins() -> Dict[str, Any]:
    """Global name -> safe stand-in, for the numpy/mmengine names."""
    names: Dict[str, Any] = {
        'numpy.dtype': _safe_dtype,
        'numpy.ndarray': _NDArrayName,
        'mmengine.logging.history_buffer.HistoryBuffer': _SafeHistoryBuffer,
        'builtins.getattr': _history_buffer_getattr,
        '__builtin__.getattr': _history_buffer_getattr,
        'builtins.bytes': _safe_bytes,
        '__builtin__.bytes': _safe_bytes,
    }
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        names[f'{module}._reconstruct'] = _safe_reconstruct
        names[f'{module}.scalar'] = _safe_scalar
    return names


def _safe_globals() -> List[Any]:
    """The ``safe_globals`` list for one safe ``torch.load``."""
    return [(obj, name) for name, obj in _stand_ins().items()] + [
        (_SafeDType, 'projkd_mm.checkpoint._SafeDType'),
        (_SafeArray, 'projkd_mm.checkpoint._SafeArray'),
    ]


def _materialise(obj: Any, memo: Optional[Dict[int, Any]] = None) -> Any:
    """Replace the stand-ins by real numpy/mmengine objects, in place."""
    memo = {} if memo is None else memo
    if id(obj) in memo:
        return memo[id(obj)]
    if isinstance(obj, _SafeArray):
        if obj.array is None:
            _refuse('numpy array without data')
        return obj.array
    if isinstance(obj, _SafeDType):
        return obj.dtype
    if isinstance(obj, _SafeHistoryBuffer):
        return _history_buffer_from_state(obj.state, memo)
    if isinstance(obj, dict):
        memo[id(obj)] = obj
        for key in list(obj):
            obj[key] = _materialise(obj[key], memo)
    elif isinstance(obj, list):
        memo[id(obj)] = obj
        obj[:] = [_materialise(item, memo) for item in obj]
    elif isinstance(obj, tuple) and not isinstance(obj, torch.Size):
        out = tuple(_materialise(item, memo) for item in obj)
        memo[id(obj)] = out
        return out
    elif isinstance(obj, set):
        out = {_materialise(item, memo) for item in obj}
        memo[id(obj)] = out
        return out
    return obj


def _history_buffer_from_state(state: Any, memo: Dict[int, Any]) -> Any:
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    if state is None:
        _refuse('HistoryBuffer without state')
    log = _materialise(state.get('_log_history'), memo)
    count = _materialise(state.get('_count_history'), memo)
    max_length = state.get('max_length')
    if not (isinstance(log, np.ndarray) and isinstance(count, np.ndarray)
            and type(max_length) is int and max_length > 0):
        _refuse('HistoryBuffer state must hold two numeric arrays and a '
                'positive max_length')
    buffer = HistoryBuffer.__new__(HistoryBuffer)
    # Only the data: the class's statistics methods stay as they are.
    buffer.max_length = max_length
    buffer._log_history = log
    buffer._count_history = count
    return buffer


# --------------------------------------------------------------------------
# Pre-scan: what the pickle asks for, before anything is built.

# Globals torch's weights_only unpickler knows and MMEngine checkpoints use.
_TORCH_PREFIXES = ('torch.',)
_PLAIN_GLOBALS = {'collections.OrderedDict', 'collections.Counter',
                  '_codecs.encode', 'builtins.set', 'builtins.complex',
                  '__builtin__.set', '__builtin__.complex'}
# Opcodes of pickle protocols 4 and 5 that weights_only cannot read.
_NEW_OPCODES = {'STACK_GLOBAL', 'FRAME', 'MEMOIZE', 'SHORT_BINUNICODE',
                'BINUNICODE8', 'BINBYTES8', 'BYTEARRAY8', 'EMPTY_SET',
                'ADDITEMS', 'FROZENSET', 'NEWOBJ_EX', 'NEXT_BUFFER',
                'READONLY_BUFFER'}
_KNOWN = set(_PLAIN_GLOBALS)


#: What all entries of a zip checkpoint may expand to, in multiples of the
#: file's size. torch stores its entries uncompressed (1x); a re-zipped
#: checkpoint of float weights compresses by ~1.1x.
MAX_EXPANSION = 16
#: How deep containers (dicts, lists, tuples, sets) may nest. MMEngine
#: checkpoints nest about 5 deep (message_hub.log_scalars.<key>.<buffer>).
MAX_DEPTH = 100


def _pickles_of(path: str, what: str) -> List[bytes]:
    """The pickle streams of a torch checkpoint file."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            _refuse_expansion(archive.infolist(), path, what)
            names = [n for n in archive.namelist()
                     if n.endswith('data.pkl') and n.count('/') <= 1]
            return [archive.read(n) for n in names]
    with open(path, 'rb') as f:
        return [f.read()]


def _refuse_expansion(entries: List[zipfile.ZipInfo], path: str,
                      what: str) -> None:
    """Refuse a zip whose entries declare more than the file can hold."""
    size = os.path.getsize(path)
    total = sum(info.file_size for info in entries)
    if total > MAX_EXPANSION * size:
        largest = max(entries, key=lambda info: info.file_size)
        raise UnsafeCheckpointError(
            f'Refusing to load the {what} {path!r}: its zip entries would '
            f'expand to {total:,} bytes ({largest.filename!r} alone to '
            f'{largest.file_size:,}), more than {MAX_EXPANSION} times the '
            f"file's {size:,} bytes. torch writes entries uncompressed; "
            'this is a compressed entry (of zeros, say) that would allocate '
            'memory the file does not justify. Nothing was decompressed. '
            'Re-save the checkpoint with torch.save.')


def _refuse_deep_nesting(obj: Any, path: str, what: str) -> None:
    """Refuse containers nested more than MAX_DEPTH deep (a loop counts as
    endless), walking them without recursion."""
    deepest: Dict[int, int] = {}  # id -> deepest level it was seen at
    todo = [(obj, 1)]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, _SafeHistoryBuffer):
            node = node.state
        if not isinstance(node, (dict, list, tuple, set, frozenset)) or \
                deepest.get(id(node), 0) >= depth:
            continue
        if depth > MAX_DEPTH:
            raise UnsafeCheckpointError(
                f'Refusing to load the {what} {path!r}: it nests '
                f'containers more than {MAX_DEPTH} levels deep (lists in '
                'lists ..., or a container that holds itself). MMEngine '
                'checkpoints nest about 5 deep; copying or saving such an '
                'object recurses once per level and can crash the process. '
                'The file was made to do that, or by a bug in what wrote '
                'it: re-save only its state dict (tensors).')
        deepest[id(node)] = depth
        items = (list(node.keys()) + list(node.values())
                 if isinstance(node, dict) else node)
        todo.extend((item, depth + 1) for item in items)


def _scan_pickle(data: bytes, path: str, what: str) -> None:
    """Refuse protocol-4 opcodes, bytearrays and unknown globals."""
    allowed = set(_stand_ins()) | _KNOWN
    stream = io.BytesIO(data)
    for _ in range(8):  # legacy files: several pickles back to back
        start = stream.tell()
        if start >= len(data):
            return
        try:
            for opcode, arg, _ in pickletools.genops(stream):
                name = opcode.name
                if name in _NEW_OPCODES:
                    raise UnsafeCheckpointError(
                        f'Refusing to unpickle the {what} {path!r}: it uses '
                        f'pickle protocol-4/5 opcodes ({name}), which the '
                        'safe (weights_only) unpickler cannot read. This is '
                        'how the file was written, not damage: re-save it '
                        'with torch.save defaults (protocol 2).')
                if name == 'GLOBAL':
                    full = str(arg).replace(' ', '.')
                    if full.startswith('__builtin__.'):  # protocol 2
                        full = 'builtins.' + full[len('__builtin__.'):]
                    if full == 'builtins.bytearray':
                        raise UnsafeCheckpointError(
                            f'Refusing to unpickle the {what} {path!r}: it '
                            'builds a bytearray, which MMEngine '
                            'checkpoints never hold and which lets a tiny '
                            'file allocate any amount of memory.')
                    if full not in allowed and \
                            not full.startswith(_TORCH_PREFIXES):
                        raise UnsafeCheckpointError(
                            f'Refusing to unpickle the {what} {path!r}: it '
                            f'asks for the Python global {full}, outside '
                            'the data-only types MMEngine checkpoints hold '
                            '(tensors, containers, numeric numpy data, '
                            'HistoryBuffer); unpickling it could run code. '
                            'If you trust the file, load it yourself with '
                            'plain torch and re-save only its state dict '
                            '(tensors).')
        except UnsafeCheckpointError:
            raise
        except Exception:  # not a pickle (storage bytes) or damaged:
            return  # torch.load below reports damage with its own reason
        if stream.tell() == start:
            return


def refuse_if_weights_only_forced_off(filename: str) -> None:
    """For loads projkd_mm leaves to mmengine (``torchvision://``,
    ``open-mmlab://``, ...), which use ``torch.load``'s defaults: refuse
    while ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` makes them unpickle code."""
    flag = os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '0')
    if flag.lower() in ('1', 'y', 'yes', 'true'):
        prefix = filename.split('://')[0] + '://'
        raise UnsafeCheckpointError(
            f'Refusing to load {filename!r}: mmengine loads {prefix!r} '
            'checkpoints with torch.load defaults, and '
            'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set, which makes that load '
            'unpickle arbitrary code. Unset it, or fetch the file and give '
            'its local path.')


def drop_code_carrying_keys(checkpoint: Any) -> Any:
    """Drop, in place, the keys that MMEngine/MMRazor turn into code or a
    config (step 3 of the trust policy), for loads that do not go through
    :func:`load_checkpoint_file`.

    Args:
        checkpoint: An unpickled checkpoint; anything but a dict is
            returned as it is.

    Returns:
        The same object, without ``meta['config']``, ``meta['cfg']`` and
        ``message_hub['runtime_info']['cfg']``.
    """
    if not isinstance(checkpoint, dict):
        return checkpoint
    meta = checkpoint.get('meta')
    if isinstance(meta, dict):
        for key in ('config', 'cfg'):
            meta.pop(key, None)
    hub = checkpoint.get('message_hub')
    if isinstance(hub, dict) and isinstance(hub.get('runtime_info'), dict):
        hub['runtime_info'].pop('cfg', None)
    return checkpoint


def _download(url: str, what: str) -> str:
    """The local copy of ``url`` in torch.hub's cache, fetched if needed."""
    from urllib.parse import urlparse
    cache = osp.join(torch.hub.get_dir(), 'checkpoints')
    local = osp.join(cache, osp.basename(urlparse(url).path) or 'download')
    if not osp.isfile(local):
        os.makedirs(cache, exist_ok=True)
        try:
            torch.hub.download_url_to_file(url, local, progress=False)
        except Exception as err:  # network or cache failure
            raise CheckpointError(
                f'Could not download the {what} from {url}: {err}. Check '
                'the URL and the network, or download it yourself and set '
                'the config key to the local file.') from err
    return local


def load_checkpoint_file(path: str, what: str = 'checkpoint') -> Dict:
    """Read a local file or URL under the trust policy of this module.

    Args:
        path (str): Local path or ``http(s)://`` URL (cached by torch.hub).
        what (str): How the error messages call the file, e.g. ``'teacher
            checkpoint (model.teacher_ckpt)'``.

    Returns:
        dict: The unpickled object, with code-carrying keys dropped.

    Raises:
        UnsafeCheckpointError: The file asks for something outside the
            policy (a global, a bytearray, a non-numeric numpy dtype, a
            legacy or protocol-4 format, an entry expanding past
            ``MAX_EXPANSION`` times the file, nesting past ``MAX_DEPTH``).
        CheckpointError: Missing, truncated or corrupt file.
    """
    if path.startswith(('http://', 'https://')):
        path = _download(path, what)
    if osp.isdir(path):
        raise CheckpointError(
            f'The {what} {path!r} is a directory, not a checkpoint file. '
            'Give the .pth file inside it (e.g. a run\'s epoch_N.pth; '
            'tools/train.py --resume without a value resumes the latest '
            'checkpoint of --work-dir).')
    if not osp.isfile(path):
        raise CheckpointError(
            f'The {what} {path!r} does not exist. Check the path (in the '
            'config, --cfg-options or on the command line).')
    if not zipfile.is_zipfile(path) and tarfile.is_tarfile(path):
        raise UnsafeCheckpointError(
            f'Refusing to load the {what} {path!r}: it is a legacy tar '
            'checkpoint (torch < 0.4), which the safe loader does not read. '
            'This is its format, not damage: load it with the torch that '
            'wrote it and re-save it with torch.save.')
    for data in _pickles_of(path, what):
        _scan_pickle(data, path, what)
    try:
        with torch.serialization.safe_globals(_safe_globals()):
            loaded = torch.load(path, map_location='cpu', weights_only=True)
        _refuse_deep_nesting(loaded, path, what)
        return drop_code_carrying_keys(_materialise(loaded))
    except UnsafeCheckpointError:
        raise
    except Exception as err:
        text = str(err)
        refused = next((line.strip() for line in text.splitlines()
                        if 'GLOBAL' in line or 'Refusing' in line
                        or 'numpy' in line or 'HistoryBuffer' in line), None)
        if refused or isinstance(err, pickle.UnpicklingError):
            raise UnsafeCheckpointError(
                f'Refusing to unpickle the {what} {path!r}: '
                f'{refused or text}. That is outside the data-only types '
                'MMEngine checkpoints hold, and building it could run code '
                'or crash. If you trust the file, load it yourself and '
                're-save only its state dict (tensors).') from err
        detail = next((line.strip() for line in reversed(text.splitlines())
                       if line.strip() and 'torch.load' not in line), '')
        raise CheckpointError(
            f'The {what} {path!r} is truncated or corrupt '
            f'({type(err).__name__}: {detail or "no message"}). It may '
            'have been written by a process that died: use an earlier '
            'checkpoint or train again.') from err
