"""Workarounds for upstream breakage, declared as data.

``import projkd_mm`` applies only the :data:`WORKAROUNDS` entries with
``applied_by='import'``, and only where the installed versions have the
bug: the torch names mmrazor 1.0.0 imports, and one added entry of
mmengine's package table so that ``projkd_mm::`` config bases resolve.
Nothing else in the host process changes by importing the package: every
other workaround is either a registered component that a config selects
(a storage backend, a distiller, an optimizer-wrapper constructor), a step
of this repository's tools, or a patch applied only when asked for by
name::

    import projkd_mm.compat
    projkd_mm.compat.enable('safe-checkpoint-loading')

:data:`WORKAROUNDS` is the one list: ``projkd_mm.print_env()`` prints it,
``python -m projkd_mm.compat`` renders the table of docs/faq.md from it (a
test keeps the two equal), and each entry says how it is applied and when
it can go.
"""
import importlib
import importlib.metadata
import warnings
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Type


def _version(package: str) -> Optional[tuple]:
    """The installed version of ``package`` as a comparable tuple."""
    try:
        text = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
    parts = []
    for piece in text.split('+')[0].split('.')[:3]:
        digits = ''.join(c for c in piece if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _at_most(package: str, version: tuple) -> bool:
    installed = _version(package)
    return installed is not None and installed <= version


def _at_least(package: str, version: tuple) -> bool:
    installed = _version(package)
    return installed is not None and installed >= version


def _no_cuda() -> bool:
    import torch
    return not torch.cuda.is_available()


@dataclass(frozen=True)
class Workaround:
    """One upstream bug and what projkd_mm does about it.

    Args:
        name: How :func:`enable`, :func:`status` and the docs call it.
        upstream: The package (and versions) with the bug.
        symptom: What goes wrong without the workaround.
        how: How it is applied (at import, by a config key, by our tools,
            or by :func:`enable`).
        remove_when: When the workaround can go.
        needed: True where the installed versions have the bug.
        applied_by: ``'import'`` (by ``import projkd_mm``, where needed),
            ``'opt-in'`` (a patch applied by :func:`enable`, which this
            repository's tools call), ``'config'`` (a registered component
            the configs select; nothing is patched), ``'tools'`` (a step of
            this repository's tools or benchmarks) or ``'nothing'`` (a
            known gap, not worked around).
        patch: The function that patches upstream, for ``'import'`` and
            ``'opt-in'`` entries.
    """
    name: str
    upstream: str
    symptom: str
    how: str
    remove_when: str
    needed: Callable[[], bool]
    applied_by: str
    patch: Optional[Callable[[], None]] = None

    def __post_init__(self) -> None:
        if self.applied_by not in _KINDS:
            raise ValueError(f'{self.name}: applied_by must be one of '
                             f'{_KINDS}, got {self.applied_by!r}.')
        if (self.patch is None) != (self.applied_by not in ('import',
                                                            'opt-in')):
            raise ValueError(f'{self.name}: a patch function goes with '
                             "applied_by 'import' or 'opt-in' only.")


_ENABLED: List[str] = []
_KINDS = ('import', 'opt-in', 'config', 'tools', 'nothing')


# --- patches --------------------------------------------------------------


def _torch_quantization_names_missing() -> bool:
    if not _at_most('mmrazor', (1, 0, 0)):
        return False
    fmm = importlib.import_module(
        'torch.ao.quantization.fuser_method_mappings')
    from torch.ao.quantization.backend_config import BackendPatternConfig
    return not hasattr(fmm, 'reverse2') or not hasattr(
        BackendPatternConfig, '_set_overwrite_output_observer')


def _restore_torch_quantization_names() -> None:
    fmm = importlib.import_module(
        'torch.ao.quantization.fuser_method_mappings')
    if not hasattr(fmm, 'reverse2'):
        fmm.reverse2 = fmm._reverse2
        fmm.reverse3 = fmm._reverse3

        def reverse_sequential_wrapper2(sequential):
            """Fuser method building ``sequential(m2, m1)`` (torch 1.13)."""

            def fuser_method(is_qat, m1, m2):
                return sequential(m2, m1)

            return fuser_method

        fmm.reverse_sequential_wrapper2 = reverse_sequential_wrapper2
    # mmrazor reaches this submodule as an attribute of its parent package.
    importlib.import_module('torch.ao.quantization.backend_config.utils')
    from torch.ao.quantization.backend_config import BackendPatternConfig
    for name in ('_set_overwrite_output_fake_quantize',
                 '_set_overwrite_output_observer',
                 '_set_input_output_observed'):
        if hasattr(BackendPatternConfig, name):
            continue
        attr = name[len('_set_'):]

        def setter(self, value, _attr=attr):
            setattr(self, '_' + _attr, value)
            return self

        setattr(BackendPatternConfig, name, setter)


def _load_checkpoints_safely() -> None:
    import os.path as osp

    from mmengine.runner.checkpoint import CheckpointLoader

    from projkd_mm.utils import safe_load as safe

    def load_local_or_url(filename: str, map_location=None, **kwargs):
        """mmengine's local-file/URL loader, through the safe loader."""
        return safe.load_checkpoint_file(osp.expanduser(filename),
                                         'checkpoint')

    def guarded(loader):

        def load(filename: str, map_location=None, **kwargs):
            safe.refuse_if_weights_only_forced_off(filename)
            return safe.drop_code_carrying_keys(
                loader(filename, map_location, **kwargs))

        return load

    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if prefix not in ('', 'http://', 'https://'):
            CheckpointLoader.register_scheme(
                prefixes=prefix, loader=guarded(loader), force=True)
    CheckpointLoader.register_scheme(
        prefixes=('', 'http://', 'https://'), loader=load_local_or_url,
        force=True)


def _modules_is_plain_dict() -> bool:
    from collections import OrderedDict

    from torch import nn
    return (_at_most('mmrazor', (1, 0, 0))
            and type(nn.Module()._modules) is not OrderedDict)


def _set_module_inplace_false_on_torch2() -> None:
    from mmrazor.models.algorithms.base import BaseAlgorithm

    from projkd_mm.models.algorithms.inplace import set_module_inplace_false
    BaseAlgorithm.set_module_inplace_false = set_module_inplace_false


#: The upstream warnings 'quiet-upstream-warnings' silences, as
#: ``(message, category)``: ``message`` is a regular expression matched at
#: the start of the warning's text, as ``warnings.filterwarnings`` reads it.
#: The one list: the tools (tools/projkd_tools/cli.py) and the tests
#: (tests/conftest.py, as pytest ``filterwarnings``) silence these too.
UPSTREAM_WARNINGS: Tuple[Tuple[str, Type[Warning]], ...] = (
    ('Fail to import ``MultiScaleDeformableAttention``', UserWarning),
    ('pkg_resources is deprecated', UserWarning),
)


def _quiet_upstream_warnings() -> None:
    for message, category in UPSTREAM_WARNINGS:
        warnings.filterwarnings('ignore', message=message, category=category)


def reissue_unlisted_warnings(
        caught: Iterable[warnings.WarningMessage]) -> None:
    """Issue again the ``caught`` warnings :data:`UPSTREAM_WARNINGS` does not
    list, through the warning filters in force.

    ``import projkd_mm`` emits some of the listed warnings before the list
    can be read: code that silences them (the tools, the tests) imports
    projkd_mm under ``warnings.catch_warnings(record=True)`` and hands the
    record to this function, so every other warning of the import is shown
    as usual.

    Args:
        caught: The warnings recorded by ``warnings.catch_warnings``.
    """
    with warnings.catch_warnings():
        _quiet_upstream_warnings()
        for warning in caught:
            warnings.warn_explicit(warning.message, warning.category,
                                   warning.filename, warning.lineno,
                                   source=warning.source)


def _package_name_unknown() -> bool:
    from mmengine.config import utils
    return 'projkd_mm' not in utils.MODULE2PACKAGE


def _add_package_name() -> None:
    from mmengine.config import utils
    utils.MODULE2PACKAGE['projkd_mm'] = 'projkd_mm'


def _mmcls_missing() -> bool:
    try:
        importlib.import_module('mmcls')
    except ImportError:
        return True
    return False


# --- the list -------------------------------------------------------------

WORKAROUNDS: Dict[str, Workaround] = {
    w.name: w
    for w in [
        Workaround(
            name='torch-quantization-names',
            applied_by='import',
            upstream='mmrazor 1.0.0 with torch >= 2.0',
            symptom='`import mmrazor.models` fails with "`torch>=1.13` is '
            'not installed properly, plz check.": torch renamed '
            '`reverse2`/`reverse3`/`reverse_sequential_wrapper2` in '
            '`torch.ao.quantization.fuser_method_mappings`, stopped '
            'importing `backend_config.utils` eagerly and removed three '
            'private setters of `BackendPatternConfig` (used only to '
            'declare quantisation backends).',
            how='at `import projkd_mm`, only where the names are missing '
            'and mmrazor <= 1.0.0',
            remove_when='a mmrazor release after 1.0.0 is on PyPI',
            needed=_torch_quantization_names_missing,
            patch=_restore_torch_quantization_names),
        Workaround(
            name='config-package-name',
            applied_by='import',
            upstream='mmengine <= 0.10.7',
            symptom="`_base_ = ['projkd_mm::projkd/...py']` fails with "
            '"mmengine does not support to load projkd_mm config": '
            'mmengine resolves `package::` bases only for the packages of '
            'its `MODULE2PACKAGE` table.',
            how="at `import projkd_mm`: the entry 'projkd_mm' is added to "
            'that table (nothing replaced); a config naming a '
            '`projkd_mm::` base is read after `import projkd_mm`',
            remove_when='mmengine finds configs of any installed package',
            needed=_package_name_unknown,
            patch=_add_package_name),
        Workaround(
            name='safe-checkpoint-loading',
            applied_by='opt-in',
            upstream='mmengine <= 0.10.7 with torch >= 2.6',
            symptom='`--resume`/`load_from` fail with "Unsupported global: '
            '... HistoryBuffer" (torch >= 2.6 loads with weights_only=True); '
            'under TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 they unpickle '
            'anything; `Runner.resume` executes `meta["config"]`; a '
            'truncated file fails without naming it.',
            how="the configs' `runner_type='SafeCheckpointRunner'` loads "
            '`load_from`/`--resume` through '
            '`projkd_mm.utils.safe_load.load_checkpoint_file` (nothing '
            'patched); for every other load of mmengine (e.g. '
            "`init_cfg=dict(type='Pretrained')`) the tools enable, and you "
            "may, `projkd_mm.compat.enable('safe-checkpoint-loading')`: "
            'local and http(s) loads go through the same loader, other '
            'schemes are refused while weights_only is forced off',
            remove_when='mmengine loads checkpoints with weights_only=True '
            'and names the file it failed to read',
            needed=lambda: _at_most('mmengine', (0, 10, 7)),
            patch=_load_checkpoints_safely),
        Workaround(
            name='atomic-checkpoint-writes',
            applied_by='config',
            upstream='mmengine <= 0.10.7',
            symptom='checkpoints are written in place: a run killed while '
            'writing `epoch_N.pth` leaves a truncated file under the real '
            'name, which `--resume` takes.',
            how="storage backend 'atomic_local' (registered by "
            'projkd_mm), selected by the configs with '
            "`default_hooks.checkpoint.backend_args=dict(backend="
            "'atomic_local')` (configs/_base_/projkd_runtime.py); other "
            'writers are untouched',
            remove_when='mmengine writes checkpoints atomically',
            needed=lambda: _at_most('mmengine', (0, 10, 7))),
        Workaround(
            name='cpu-distributed',
            applied_by='tools',
            upstream='mmengine <= 0.10.7',
            symptom='distributed runs without CUDA fail: `init_dist` calls '
            '`torch.cuda.set_device` ("Found no NVIDIA driver") and the '
            'Runner wraps the model with `device_ids=[LOCAL_RANK]`, which '
            'DDP refuses for CPU modules.',
            how='tools/train.py and tools/test.py without CUDA: an `nccl` '
            'backend becomes `gloo`, the process group is initialised '
            'before the Runner (which then skips `init_dist`), and '
            '`model_wrapper_cfg` gets `device_ids=None`; the group is '
            'torn down after the last barrier (a gloo rank can abort at '
            'exit otherwise)',
            remove_when='mmengine runs distributed on CPU',
            needed=lambda: _no_cuda() and _at_most('mmengine', (0, 10, 7))),
        Workaround(
            name='cpu-sync-batchnorm',
            applied_by='tools',
            upstream='torch (any version)',
            symptom="`sync_bn='torch'` fails on CPU processes "
            '("SyncBatchNorm expected input tensor to be on GPU"), and DDP '
            'refuses CPU modules holding one.',
            how="tools/train.py, distributed without CUDA and `sync_bn="
            "'torch'`, wraps the model with the registered "
            "`CPUSyncBNDistributedDataParallel`, which converts the "
            'SyncBatchNorm layers to `CPUSyncBatchNorm` (batch statistics '
            'over all ranks with differentiable all-reduces) before DDP; '
            'elsewhere name that wrapper in `model_wrapper_cfg`, or call '
            '`projkd_mm.models.layers.convert_cpu_sync_batchnorm(model)`; '
            "torch's classes are not patched",
            remove_when='torch has a CPU SyncBatchNorm',
            needed=_no_cuda),
        Workaround(
            name='recorder-errors',
            applied_by='config',
            upstream='mmrazor 1.0.0',
            symptom='recorder mistakes are bare asserts ("data_idx is '
            'illegal"), gone under `python -O`, naming neither the '
            'recorder nor the allowed values.',
            how="`model.distiller.type='CheckedConfigurableDistiller'` "
            '(the configs): the same checks, errors naming the source and '
            'the closest names, of types that are also AssertionError',
            remove_when='mmrazor raises real errors',
            needed=lambda: _at_most('mmrazor', (1, 0, 0))),
        Workaround(
            name='optimizer-type-errors',
            applied_by='config',
            upstream='mmengine <= 0.10.7',
            symptom='a misspelt `optim_wrapper.optimizer.type` fails with '
            '"TypeError: None is not a callable object".',
            how="`optim_wrapper.constructor='CheckedOptimWrapperConstructor'`"
            ' (the configs): the unknown type and the closest registered '
            'optimizers, as a ValueError',
            remove_when='mmengine names unknown optimizer types',
            needed=lambda: _at_most('mmengine', (0, 10, 7))),
        Workaround(
            name='set-module-inplace-false',
            applied_by='opt-in',
            upstream='mmrazor 1.0.0 with torch >= 2.0',
            symptom='`BaseAlgorithm.set_module_inplace_false` walks only '
            '`OrderedDict` children, but torch 2 keeps `_modules` in a '
            'plain dict: in-place ReLUs stay in place and a recorder on '
            'the module before one records the modified tensor.',
            how='`CheckedSingleTeacherDistill` always; upstream algorithms '
            "with `projkd_mm.compat.enable('set-module-inplace-false')`",
            remove_when='a mmrazor release after 1.0.0 is on PyPI',
            needed=_modules_is_plain_dict,
            patch=_set_module_inplace_false_on_torch2),
        Workaround(
            name='quiet-upstream-warnings',
            applied_by='opt-in',
            upstream='mmcv-lite 2.x, mmengine 0.10.7',
            symptom='a warning at every import that '
            '`MultiScaleDeformableAttention` (a detection op) is missing, '
            'and setuptools\' "pkg_resources is deprecated".',
            how='tools/ scripts (and the tests, as pytest filters); '
            "elsewhere `projkd_mm.compat.enable('quiet-upstream-warnings')`"
            ': filters the messages of `projkd_mm.compat.UPSTREAM_WARNINGS`',
            remove_when='mmcv >= 2.2 and an mmengine without pkg_resources',
            needed=lambda: True,
            patch=_quiet_upstream_warnings),
        Workaround(
            name='amp-on-cpu-benchmarks',
            applied_by='tools',
            upstream='mmengine <= 0.10.7',
            symptom='`AmpOptimWrapper` asserts a GPU although its bf16 '
            'autocast has a CPU branch.',
            how='benchmarks/common.py only, for the duration of one build',
            remove_when='mmengine allows AmpOptimWrapper on CPU',
            needed=lambda: _no_cuda() and _at_most('mmengine', (0, 10, 7))),
        Workaround(
            name='mmcls-components-of-mmrazor',
            applied_by='nothing',
            upstream='mmrazor 1.0.0 with mmpretrain (no mmcls)',
            symptom='mmrazor modules that import mmcls are placeholders: '
            '`KDSoftCELoss` fails when called, `PackCRDClsInputs` when '
            'built, and so does CRD with `CRDDataset` (which also builds a '
            'ragged `np.asarray` that numpy >= 1.24 rejects).',
            how='not worked around: use `KLDivergence` for logit KD; CRD '
            'does not run with mmpretrain',
            remove_when='mmrazor supports mmpretrain',
            needed=_mmcls_missing),
    ]
}


def _get(name: str) -> Workaround:
    if name not in WORKAROUNDS:
        import difflib
        close = difflib.get_close_matches(name, WORKAROUNDS, 3)
        raise ValueError(
            f'No workaround named {name!r}. Closest: '
            f'{", ".join(map(repr, close)) or "none"}; all: '
            f'{", ".join(WORKAROUNDS)}.')
    return WORKAROUNDS[name]


def enable(*names: str) -> List[str]:
    """Apply the named patches where the installed versions need them.

    Safe to call again. Returns the names that were applied by this call.
    A name whose workaround patches nothing (a config key or a tool step)
    is a ``ValueError`` that says how it is applied.
    """
    applied = []
    for name in names:
        workaround = _get(name)
        if workaround.applied_by not in ('import', 'opt-in'):
            raise ValueError(
                f'{name!r} is not a patch; it is applied by: '
                f'{workaround.how}.')
        if name in _ENABLED or not workaround.needed():
            continue
        workaround.patch()
        _ENABLED.append(name)
        applied.append(name)
    return applied


def apply() -> None:
    """The workarounds ``import projkd_mm`` applies: only those needed for
    mmrazor 1.0.0 to import. Safe to call again."""
    for workaround in WORKAROUNDS.values():
        if workaround.applied_by == 'import':
            enable(workaround.name)


def applied_patches() -> List[str]:
    """Names of the patches applied in this process, in order."""
    return list(_ENABLED)


def status() -> List[Dict[str, str]]:
    """Each workaround, whether this environment needs it and whether it
    is applied in this process."""
    rows = []
    for w in WORKAROUNDS.values():
        if w.name in _ENABLED:
            state = 'applied'
        elif not w.needed():
            state = 'not needed'
        else:
            state = {'import': 'not applied', 'opt-in': 'not enabled',
                     'config': 'by the configs', 'tools': 'by the tools',
                     'nothing': 'not worked around'}[w.applied_by]
        rows.append(dict(name=w.name, applied_by=w.applied_by, state=state))
    return rows


def markdown_table() -> str:
    """The workarounds table of docs/faq.md."""
    lines = ['| workaround | upstream | symptom | applied by | how | '
             'can go when |', '|---|---|---|---|---|---|']
    for w in WORKAROUNDS.values():
        lines.append(f'| `{w.name}` | {w.upstream} | {w.symptom} | '
                     f'{w.applied_by} | {w.how} | {w.remove_when} |')
    return '\n'.join(lines)


if __name__ == '__main__':
    print(markdown_table())
