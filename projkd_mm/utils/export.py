"""Turn a distillation checkpoint into a plain mmpretrain checkpoint and the
config that runs it.

``export_submodel(src, 'student.pth', config=cfg)`` writes

- ``student.pth``: the student's weights (``architecture.*`` of ``src``,
  prefix removed) and the run's ``dataset_meta``, the layout mmpretrain's
  ``get_model``/``ImageClassificationInferencer`` read;
- ``student.py``: the student's own mmpretrain config, built from ``cfg``
  (the config ``src`` was trained with): the model with the data
  preprocessor it was trained and evaluated with, the test pipeline and
  dataloader with the dataset's class names, and ``custom_imports`` of
  projkd_mm where a component (e.g. the ``CifarResNet`` backbone) is ours.
  Nothing of the teacher or the distiller.

Then ``ImageClassificationInferencer(model='student.py',
pretrained='student.pth')`` classifies images, and ``tools/test.py
student.py student.pth`` evaluates the student.
"""
import ast
import copy
import os
import os.path as osp
import re
from typing import Any, Callable, Dict, Optional

from projkd_mm.fileio import atomic_torch_save, atomic_write
from projkd_mm.utils.safe_load import CheckpointError, load_checkpoint_file
from projkd_mm.utils.state_dict import (
    STUDENT_PREFIX,
    TEACHER_PREFIX,
    extract_state_dict,
    load_state_dict_strict,
    split_state_dict,
)

#: ``export_submodel(config=SAVED_CONFIG)``: the config the Runner saved
#: beside the checkpoint.
SAVED_CONFIG = 'saved'
#: The part of a distillation model config each prefix exports.
SUBMODEL_KEYS = {STUDENT_PREFIX: 'architecture', TEACHER_PREFIX: 'teacher'}
# The suffix MMEngine's Runner adds to the config name in
# meta['experiment_name'] (``<config name>_<YYYYmmdd_HHMMSS>``).
_TIMESTAMP = re.compile(r'_\d{8}_\d{6}$')


def config_path_for(weights_path: str) -> str:
    """Where the config of an export goes: ``OUT.pth`` -> ``OUT.py``."""
    return osp.splitext(weights_path)[0] + '.py'


def _check_output(src: str, dst: str, config_dst: Optional[str]) -> None:
    """Refuse outputs that would fail half-way or destroy the input."""
    for path in (dst, config_dst):
        if path is not None and osp.isdir(path):
            raise CheckpointError(
                f'The output {path!r} is a directory: give a file name, '
                f'e.g. {osp.join(path, "student.pth")!r}. Nothing was '
                'written.')
    if osp.exists(dst) and osp.exists(src) and osp.samefile(src, dst):
        raise CheckpointError(
            f'The export would overwrite its source {src!r}: give another '
            'output file.')
    if config_dst is not None:
        if osp.abspath(config_dst) == osp.abspath(dst):
            raise CheckpointError(
                f'The output {dst!r} ends in .py, the name of the config '
                'written beside the weights: name the weights file .pth '
                '(or pass --no-config).')
        if osp.exists(config_dst) and osp.samefile(src, config_dst):
            raise CheckpointError(
                f'The config written beside the export, {config_dst!r}, '
                f'would overwrite the source {src!r}: give another output '
                'file.')


def export_submodel(src: str, dst: str,
                    prefix: Optional[str] = STUDENT_PREFIX,
                    check: Optional[Callable[[Dict], None]] = None,
                    config: Optional[Any] = None,
                    write_config: bool = True) -> Dict:
    """Keep the weights under ``prefix`` (prefix removed) and save them.

    Args:
        src (str): A Runner checkpoint, e.g. of ``CheckedSingleTeacherDistill``
            (keys ``architecture.*``, ``teacher.*``, ``distiller.*``).
        dst (str): Output file, ``{'state_dict': ..., 'meta': ...}``; the
            layout ``mmpretrain``'s ``init_model``/``load_checkpoint`` read.
        prefix (str, optional): ``'architecture.'`` for the student,
            ``'teacher.'`` for the teacher; ``None`` keeps every weight
            (a plain classifier's checkpoint, stripped of optimizer state).
            A prefix without its trailing dot (``'architecture'``) means the
            same as with it.
        check (callable, optional): Called with the state dict before
            anything is written; an exception from it leaves ``dst`` as it
            was.
        config (mmengine.Config | str, optional): The config ``src`` was
            trained with, or the plain mmpretrain config of the exported
            model, or :data:`SAVED_CONFIG`: the config the Runner saved
            beside ``src`` (:func:`find_run_config`, read as data). With it,
            the weights are first loaded strictly into the model of
            :func:`exported_model_config`.
        write_config (bool): Write that model's config to
            :func:`config_path_for` ``(dst)`` (with a ``config`` only).

    Returns:
        dict: The saved state dict.

    Raises:
        CheckpointError: An output that is a directory or the input, a
            checkpoint without weights under ``prefix``, or weights that do
            not fit the config; nothing is written then.
    """
    write_config = write_config and config is not None
    config_dst = config_path_for(dst) if write_config else None
    _check_output(src, dst, config_dst)
    checkpoint = load_checkpoint_file(src, 'checkpoint to export')
    state_dict = extract_state_dict(checkpoint, f'checkpoint {src!r}')
    if prefix:
        kept = split_state_dict(state_dict, prefix)
        if not kept:
            raise CheckpointError(_nothing_under(src, prefix, state_dict))
        state_dict = kept
    if check is not None:
        check(state_dict)
    meta = checkpoint.get('meta')
    meta = meta if isinstance(meta, dict) else {}
    if isinstance(config, str):
        if config == SAVED_CONFIG:
            config = read_run_config(find_run_config(src, meta))
        else:
            from mmengine.config import Config
            config = Config.fromfile(config)
    meta = {k: v for k, v in meta.items()
            if k in ('dataset_meta', 'epoch', 'iter', 'seed')}
    config_text = None
    if config is not None:
        exported = exported_model_config(
            config, prefix, meta.get('dataset_meta'))
        load_state_dict_strict(
            build_classifier(exported), state_dict,
            f'export of {src!r} (nothing was written)')
        if write_config:
            config_text = exported.pretty_text
    meta['exported_from'] = osp.abspath(src)
    atomic_torch_save({'state_dict': state_dict, 'meta': meta}, dst)
    if config_text is not None:
        atomic_write(config_dst, config_text)
    return state_dict


def _nothing_under(src: str, prefix: str, state_dict: Dict) -> str:
    tops = sorted({key.split('.', 1)[0] for key in state_dict})
    if prefix.rstrip('.') + '.' == STUDENT_PREFIX and tops == ['teacher']:
        return (f'{src!r} holds no student: all its weights are under '
                "'teacher.' (a teacher exported with --prefix teacher. or "
                'saved by a distillation run without its student). Export '
                'from the checkpoint of the distillation run (its work '
                'dir\'s epoch_N.pth), or keep the teacher with --prefix '
                'teacher.')
    return (f'{src!r} has no weights under {prefix!r} (its top-level keys: '
            f'{", ".join(tops[:6]) or "none"}); it is not a distillation '
            'checkpoint (for a plain classifier use --prefix none).')


# --- the exported model's config --------------------------------------------

def exported_model_config(cfg, prefix: Optional[str] = STUDENT_PREFIX,
                          dataset_meta: Optional[Dict] = None):
    """The plain mmpretrain config of the model a prefix exports.

    Args:
        cfg (mmengine.Config): The config the checkpoint was trained with
            (a distillation config: ``model.architecture`` is the student,
            ``model.teacher`` the teacher) or a plain mmpretrain classifier
            config (used as it is).
        prefix (str, optional): As for :func:`export_submodel`.
        dataset_meta (dict, optional): The run's ``dataset_meta``; its
            ``classes`` go into the test dataset's ``metainfo``.

    Returns:
        mmengine.Config: ``default_scope``, ``custom_imports`` (where a
        component is projkd_mm's), ``model`` (with ``data_preprocessor``),
        ``test_pipeline``, ``test_dataloader``, ``test_evaluator``,
        ``test_cfg``.
    """
    from mmengine.config import Config
    model = cfg.get('model')
    if not isinstance(model, dict) or 'type' not in model:
        raise CheckpointError(
            'The config has no model: give the config the checkpoint was '
            'trained with (--config).')
    is_distill = 'architecture' in model
    if not is_distill:
        submodel = model
    else:
        key = SUBMODEL_KEYS.get((prefix or '').rstrip('.') + '.')
        if key is None or not isinstance(model.get(key), dict):
            kept = (f'the weights under {prefix!r}' if prefix else
                    'every weight (--prefix none)')
            raise CheckpointError(
                f'No plain config describes {kept} of '
                'a distillation model (only the student, '
                f"{STUDENT_PREFIX!r}, and the teacher, {TEACHER_PREFIX!r}, "
                'are classifiers of their own): pass --no-config.')
        submodel = model[key]
    submodel = copy.deepcopy(_plain(submodel))
    if 'cfg_path' in submodel:
        raise CheckpointError(
            f'The model is given by reference (cfg_path='
            f'{submodel["cfg_path"]!r}): give its own plain mmpretrain '
            'config with --config instead.')
    submodel.pop('_scope_', None)
    # The preprocessing the model was trained and evaluated with: the
    # distillation algorithm's (the Runner puts the top-level
    # data_preprocessor there), not the unused one of the architecture.
    preprocessor = model.get('data_preprocessor') or cfg.get(
        'data_preprocessor') or (submodel.get('data_preprocessor')
                                 if not is_distill else None)
    if preprocessor:
        submodel['data_preprocessor'] = copy.deepcopy(_plain(preprocessor))
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    dataset = loader.get('dataset') if isinstance(loader, dict) else None
    if not isinstance(dataset, dict) or 'pipeline' not in dataset:
        raise CheckpointError(
            'The config has no test_dataloader.dataset.pipeline, which the '
            'exported config needs for inference: give a config that has '
            'one (--config), or pass --no-config.')
    loader = copy.deepcopy(_plain(loader))
    classes = (dataset_meta or {}).get('classes')
    if classes:
        loader['dataset']['metainfo'] = dict(classes=list(classes))
    out = dict(default_scope='mmpretrain')
    evaluator = cfg.get('test_evaluator') or cfg.get('val_evaluator')
    body = dict(model=submodel,
                test_pipeline=loader['dataset']['pipeline'],
                test_dataloader=loader,
                test_evaluator=copy.deepcopy(_plain(evaluator)),
                test_cfg=dict())
    if _uses_projkd_mm(body):
        out['custom_imports'] = dict(imports=['projkd_mm'],
                                     allow_failed_imports=False)
    out.update(body)
    if out['test_evaluator'] is None:
        out['test_evaluator'] = dict(type='Accuracy', topk=(1, ))
    return Config(out)


def _plain(value: Any) -> Any:
    """ConfigDict -> dict, recursively (lists and tuples too)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _types(value: Any):
    if isinstance(value, dict):
        if isinstance(value.get('type'), str):
            yield value['type']
        for item in value.values():
            yield from _types(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _types(item)


def _uses_projkd_mm(body: Dict) -> bool:
    """Whether a ``type`` of ``body`` is registered by projkd_mm."""
    from mmpretrain.registry import DATASETS, METRICS, MODELS, TRANSFORMS
    for name in _types(body):
        for registry in (MODELS, DATASETS, TRANSFORMS, METRICS):
            try:
                cls = registry.get(name)
            except KeyError:
                cls = None
            if cls is not None and getattr(cls, '__module__',
                                           '').startswith('projkd_mm'):
                return True
    return False


def build_classifier(cfg):
    """The model of a plain mmpretrain config, as mmpretrain's
    ``get_model`` builds it (top-level ``data_preprocessor`` merged in)."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(model_cfg)


# --- the config a Runner saved beside its checkpoints -----------------------

def find_run_config(src: str, meta: Optional[Dict] = None) -> str:
    """The config MMEngine's Runner saved in the work dir of ``src``.

    The Runner writes the config it ran to ``<work_dir>/<config name>.py``
    beside its ``epoch_N.pth``; ``meta['experiment_name']``
    (``<config name>_<timestamp>``) names it.

    Raises:
        CheckpointError: No such file, with the two ways out.
    """
    folder = osp.dirname(osp.abspath(src))
    name = meta.get('experiment_name') if isinstance(meta, dict) else None
    if isinstance(name, str) and _TIMESTAMP.search(name):
        candidates = [osp.join(folder, _TIMESTAMP.sub('', name) + '.py')]
    else:
        candidates = sorted(
            osp.join(folder, f) for f in os.listdir(folder)
            if f.endswith('.py'))
        if len(candidates) > 1:
            candidates = []
    found = [path for path in candidates if osp.isfile(path)]
    if not found:
        where = (f'looked for {candidates[0]!r}' if candidates else
                 'it holds no single *.py file')
        raise CheckpointError(
            f'No config found for {src!r}: MMEngine\'s Runner saves the '
            'config it ran beside its checkpoints, and this folder has none '
            f'({where}). Give the config the checkpoint was trained with '
            '(--config CONFIG), or export the weights alone (--no-config).')
    return found[0]


def read_run_config(path: str):
    """Read a config MMEngine saved (``Config.dump``) as data.

    A saved config is a list of ``name = value`` lines whose values are
    literals and ``dict(...)`` calls. They are read without executing
    anything (``Config.fromfile`` would run the file as Python, and a file
    found beside a checkpoint is no more trusted than the checkpoint).

    Raises:
        CheckpointError: Anything but such lines, naming the line.
    """
    from mmengine.config import Config
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        tree = ast.parse(text, path)
    except SyntaxError as err:
        raise CheckpointError(
            f'The config {path!r} is not valid Python ({err.msg}, line '
            f'{err.lineno}): give the config the checkpoint was trained '
            'with (--config).') from None
    values = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            _not_data(path, node)
        values[node.targets[0].id] = _literal(node.value, path)
    return Config(values)


def _literal(node: ast.AST, path: str) -> Any:
    if isinstance(node, ast.Call):
        if (isinstance(node.func, ast.Name) and node.func.id == 'dict'
                and not node.args and all(k.arg for k in node.keywords)):
            return {k.arg: _literal(k.value, path) for k in node.keywords}
        _not_data(path, node)
    if isinstance(node, ast.List):
        return [_literal(item, path) for item in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_literal(item, path) for item in node.elts)
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k, path): _literal(v, path)
                for k, v in zip(node.keys, node.values)}
    try:
        return ast.literal_eval(node)
    except ValueError:
        _not_data(path, node)


def _not_data(path: str, node: ast.AST) -> None:
    raise CheckpointError(
        f'{path}, line {node.lineno}: {ast.unparse(node)[:80]!r} is not '
        'plain data, so the saved config is not read (it is never '
        'executed). Give the config the checkpoint was trained with '
        '(--config CONFIG), or export the weights alone (--no-config).')
