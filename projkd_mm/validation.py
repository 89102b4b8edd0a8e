"""Validation of a distillation config before anything is built: one
module, named checks.

MMRazor 1.0.0 checks ``loss_forward_mappings`` with bare ``assert``
statements (gone under ``python -O``), reports a misspelt type as a registry
``KeyError`` that does not say where in the config it is, and accepts some
configs that train nothing useful: a loss without a mapping is never
computed, a loss whose name lacks ``'loss'`` is logged but never
back-propagated, a loss fed only by the teacher cannot train the student.
:func:`check_distill_config` looks at the model config as written, before
anything is built, and raises a :class:`ValueError` that names the config
key, the value it saw and what to write instead;
:func:`check_teacher_options` does the same for the teacher's precision
and layout options, :func:`check_algorithm_options` for the algorithm's
flags and ``input_size``. ``CheckedSingleTeacherDistill`` runs all three.

The checks, by name (:data:`CHECKS`); any of them can be switched off with
``model.skip_checks=[<name>, ...]``:

- ``'flags'``: the algorithm's boolean options (:data:`FLAGS`) are bools,
  and so is every argument a distill loss or connector declares as
  ``bool`` (mmrazor's ``KLDivergence(teacher_detach=...)``, say).
- ``'model-scopes'``: an inline student/teacher type registered by another
  package has the ``_scope_`` of that package.
- ``'distiller-type'``: the distiller type is registered.
- ``'recorders'``: each recorder has a known type and a source.
- ``'connectors'``: each connector type is registered.
- ``'losses'``: loss types are registered, names contain ``'loss'``,
  weights are numbers, every loss has a mapping and the reverse.
- ``'mappings'``: each mapping gives every argument of its loss's
  ``forward`` from a recorder of the right side, with int indices, a
  ``data_idx`` for tuple outputs, at least one student input, and the same
  classes on both sides for logits.
- ``'argument-side-names'``: a naming heuristic. A loss argument named
  like a student input (``s_*``, ``student*``, ``*_s``, ``*_S``) must read
  a student recorder (``from_student=True``), one named like a teacher
  input (``t_*``, ``teacher*``, ``*_t``, ``*_T``) a teacher recorder. Right
  for mmrazor's and projkd_mm's losses; switch it off for a loss whose
  argument names mean something else.

Everything listed in docs/misconfigurations.md and tested in
tests/test_misconfigurations.py.
"""
import difflib
import inspect
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import torch
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import Registry
from mmrazor.models.distillers import ConfigurableDistiller
from mmrazor.registry import MODELS, TASK_UTILS

from projkd_mm.models.algorithms.teacher_precision import (
    TEACHER_DTYPE_VALUES,
    TEACHER_MEMORY_FORMATS,
    cuda_bf16_supported,
)

DISTILLER = 'model.distiller'
SIDES = ('student', 'teacher')
#: The names of the checks, for ``model.skip_checks`` (see above).
CHECKS = ('flags', 'model-scopes', 'distiller-type', 'recorders',
          'connectors', 'losses', 'mappings', 'argument-side-names')


#: The algorithm's boolean options, each ``model.<name>``.
FLAGS = ('allow_random_teacher', 'teacher_trainable', 'teacher_norm_eval',
         'student_trainable', 'calculate_student_loss', 'module_inplace',
         'teacher_module_inplace')
#: The most values ``model.input_size`` may have: the dry run allocates a
#: batch of two such inputs and every activation of both models.
MAX_INPUT_VALUES = 1 << 22


def _type_name(value: Any) -> str:
    cls = type(value)
    if cls.__module__ == 'builtins':
        return cls.__name__
    return f'{cls.__module__.split(".")[0]}.{cls.__qualname__}'


def check_bool(key: str, value: Any) -> None:
    """A ValueError unless ``value`` is ``True`` or ``False``."""
    if isinstance(value, bool):
        return
    kind = _type_name(value)
    if kind in ('numpy.bool', 'numpy.bool_'):  # numpy 2 / numpy 1
        kind = 'numpy.bool_, not a Python bool'
    raise ValueError(
        f'{key} must be True or False, got {value!r} ({kind}). A string '
        "such as 'False' is truthy and would silently flip the option: "
        'write the bool.')


def check_skip_names(skip: Any) -> Tuple[str, ...]:
    """``model.skip_checks`` as a tuple of known names, or a ValueError."""
    if not isinstance(skip, (list, tuple)):
        raise ValueError(
            "model.skip_checks must be a list of check names (e.g. "
            "['argument-side-names']), or [] for none, got "
            f'{skip!r} ({_type_name(skip)}). Names: {_quoted(CHECKS)}.')
    for name in skip:
        if name not in CHECKS:
            raise ValueError(
                f'model.skip_checks: no check named {name!r}.'
                f'{_did_you_mean(name, CHECKS)} Names: {_quoted(CHECKS)}.')
    return tuple(skip)


def _quoted(names: Iterable[str]) -> str:
    return ', '.join(repr(n) for n in names) or 'none'


def _did_you_mean(name: Any, choices: Iterable[str]) -> str:
    if not isinstance(name, str):
        return ''
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    return f' Did you mean {_quoted(close)}?' if close else ''


def _resolve(registry: Registry, type_: Any, key: str, what: str) -> Any:
    """The class ``type_`` names in ``registry``, or a ValueError."""
    if inspect.isclass(type_):
        return type_
    if not isinstance(type_, str):
        raise ValueError(f'{key}: every {what} needs a type (a registered '
                         f'class name), got {type_!r}.')
    cls = registry.get(type_)
    if cls is None:
        raise ValueError(
            f'{key}={type_!r}: no {what} of that name is registered in '
            f"mmrazor's {registry.name} registry."
            f'{_did_you_mean(type_, registry.module_dict)} If it comes '
            'from your own package, list that package in custom_imports.')
    return cls


def _scopes_defining(type_: str) -> List[str]:
    return [scope for scope, registry in ROOT_MODELS.children.items()
            if type_ in registry.module_dict]


def _check_model_scope(key: str, model: Mapping) -> None:
    """An inline model needs ``_scope_`` of the package that defines it."""
    if '_scope_' in model or 'cfg_path' in model:
        return
    parts = [(key, model)] + [(f'{key}.{name}', model[name])
                              for name in ('backbone', 'neck', 'head',
                                           'data_preprocessor')
                              if isinstance(model.get(name), Mapping)]
    for part_key, part in parts:
        type_ = part.get('type')
        if not isinstance(type_, str) or '.' in type_ or \
                MODELS.get(type_) is not None:
            continue
        scopes = [s for s in _scopes_defining(type_) if s != 'mmrazor']
        if scopes:
            raise ValueError(
                f'{part_key}.type={type_!r} is registered by {scopes[0]}, but '
                "inside model=dict(_scope_='mmrazor', ...) type names are "
                "looked up in mmrazor's registry, which does not have it. "
                f"Add _scope_='{scopes[0]}' to {key} (e.g. {key}=dict("
                f"_scope_='{scopes[0]}', type=...)).")


def _check_recorder(key: str, recorder: Any) -> None:
    if not isinstance(recorder, Mapping):
        raise ValueError(f'{key}: a recorder is a dict(type=..., '
                         f'source=...), got {recorder!r}.')
    type_ = recorder.get('type')
    kinds = sorted(name[:-len('Recorder')] for name in TASK_UTILS.module_dict
                   if name.endswith('Recorder'))
    if isinstance(type_, str) and type_.endswith('Recorder'):
        raise ValueError(
            f"{key}.type={type_!r}: mmrazor appends 'Recorder' to the type "
            f"itself; write type={type_[:-len('Recorder')]!r}.")
    if type_ not in kinds:
        raise ValueError(
            f'{key}.type={type_!r} is not a recorder type.'
            f'{_did_you_mean(type_, kinds)} Recorder types: '
            f'{_quoted(kinds)}.')
    if not isinstance(recorder.get('source'), str):
        raise ValueError(
            f'{key}: the recorder needs a source, the name of what it '
            "records (a submodule such as 'neck' or 'head.fc' for "
            f"{type_}), got {recorder.get('source')!r}.")


def _side_by_name(arg: str) -> Optional[str]:
    """Whose input a loss argument is by the usual naming, if it says."""
    if arg.startswith(('s_', 'student')) or arg.endswith(('_s', '_S')):
        return 'student'
    if arg.startswith(('t_', 'teacher')) or arg.endswith(('_t', '_T')):
        return 'teacher'
    return None


def _returns_tuple(model: Any, source: str) -> bool:
    """mmpretrain classifiers' backbone and neck return tuples."""
    return (isinstance(model, Mapping) and source in ('backbone', 'neck')
            and str(model.get('type', '')).endswith('ImageClassifier'))


def _num_classes(model: Any) -> Optional[int]:
    if isinstance(model, Mapping) and isinstance(model.get('head'), Mapping):
        return model['head'].get('num_classes')
    return None


def _check_mapping(loss: str, mapping: Any, loss_cls: type,
                   recorders: Dict[str, Mapping], connectors: Mapping,
                   models: Dict[str, Any], side_names: bool = True) -> None:
    key = f'{DISTILLER}.loss_forward_mappings.{loss}'
    if not isinstance(mapping, Mapping):
        raise ValueError(f'{key}: expected a dict of loss argument -> '
                         f'dict(recorder=..., from_student=...), got '
                         f'{mapping!r}.')
    params = [p for name, p in
              inspect.signature(loss_cls.forward).parameters.items()
              if name != 'self']
    names = [p.name for p in params
             if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    takes_any = any(p.kind == p.VAR_KEYWORD for p in params)
    for arg in mapping:
        if arg not in names and not takes_any:
            raise ValueError(
                f'{key}.{arg}: {loss_cls.__name__}.forward has no argument '
                f'{arg!r}.{_did_you_mean(arg, names)} Its arguments: '
                f'{_quoted(names)}.')
    missing = [p.name for p in params if p.name in names
               and p.default is p.empty and p.name not in mapping]
    if missing:
        raise ValueError(
            f'{key}: no input for {_quoted(missing)} of '
            f'{loss_cls.__name__}.forward. Add e.g. {missing[0]}=dict('
            'recorder=..., from_student=..., data_idx=...).')

    sources: Dict[str, List[str]] = {side: [] for side in SIDES}
    for arg, spec in mapping.items():
        arg_key = f'{key}.{arg}'
        if not isinstance(spec, Mapping):
            raise ValueError(f'{arg_key}: expected dict(recorder=..., '
                             f'from_student=...), got {spec!r}.')
        from_student = spec.get('from_student')
        if not isinstance(from_student, bool):
            raise ValueError(
                f'{arg_key}.from_student must be True (read a student '
                'recorder) or False (read a teacher recorder), got '
                f'{from_student!r}.')
        side, other = SIDES if from_student else SIDES[::-1]
        recorder = spec.get('recorder')
        if recorder not in recorders[side]:
            if recorder in recorders[other]:
                raise ValueError(
                    f'{arg_key}: {recorder!r} is a {other} recorder, but '
                    f'from_student={from_student} reads the {side} '
                    f'recorders ({_quoted(recorders[side])}). Set '
                    f'from_student={not from_student} or name a {side} '
                    'recorder.')
            raise ValueError(
                f'{arg_key}.recorder={recorder!r}: there is no {side} '
                f'recorder of that name.'
                f'{_did_you_mean(recorder, recorders[side])} Defined in '
                f'{DISTILLER}.{side}_recorders: '
                f'{_quoted(recorders[side])}.')
        expected = _side_by_name(arg) if side_names else None
        if expected is not None and expected != side:
            raise ValueError(
                f'{arg_key}: by its name {arg!r} is the {expected}\'s input, '
                f'but from_student={from_student} reads the {side}. Set '
                f'from_student={expected == "student"}.')
        connector = spec.get('connector')
        if connector is not None and connector not in connectors:
            raise ValueError(
                f'{arg_key}.connector={connector!r}: no connector of that '
                f'name.{_did_you_mean(connector, connectors)} Defined in '
                f'{DISTILLER}.connectors: {_quoted(connectors)}.')
        for index in ('record_idx', 'data_idx', 'connector_idx'):
            value = spec.get(index)
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, int)):
                raise ValueError(f'{arg_key}.{index} must be an int, got '
                                 f'{value!r}.')
        rec_cfg = recorders[side][recorder]
        source = rec_cfg['source']
        if rec_cfg['type'] == 'ModuleOutputs':
            sources[side].append(source)
            if spec.get('data_idx') is None and \
                    _returns_tuple(models[side], source):
                raise ValueError(
                    f'{arg_key}: the {side}\'s {source!r} returns a tuple '
                    '(mmpretrain backbones and necks do), not a tensor. '
                    'Set data_idx=0 to take its first (with one out_index, '
                    'its only) element.')
    if not any(spec['from_student'] for spec in mapping.values()):
        raise ValueError(
            f'{key}: every input has from_student=False, so the loss only '
            'sees the teacher and cannot train the student. Feed it the '
            'student feature with from_student=True.')
    heads = {side: any(s == 'head' or s.startswith('head.')
                       for s in sources[side])
             for side in SIDES}
    classes = {side: _num_classes(models[side]) for side in SIDES}
    if all(heads.values()) and None not in classes.values() and \
            classes['student'] != classes['teacher']:
        raise ValueError(
            f'{key}: compares the student\'s head output '
            f"({classes['student']} classes, model.architecture.head."
            "num_classes) with the teacher's "
            f"({classes['teacher']} classes, model.teacher.head.num_classes)."
            ' Logit distillation needs the same classes on both sides: '
            'give the student the teacher\'s num_classes, or distil '
            "features (e.g. source='neck') instead of logits.")


def check_distill_config(cfg: Mapping, skip: Iterable[str] = ()) -> None:
    """Check the arguments of a single-teacher distillation algorithm.

    Args:
        cfg (Mapping): The keyword arguments the algorithm is built with
            (``architecture``, ``teacher``, ``distiller``, ...), as dicts.
            Parts given as built modules, and distillers other than
            :class:`ConfigurableDistiller` and its subclasses, are skipped.
        skip (Iterable[str]): Names of :data:`CHECKS` not to run.

    Raises:
        ValueError: The first problem found, naming the config key, the
            value seen and the fix.
    """
    skip = check_skip_names(skip)
    models = {'student': cfg.get('architecture'),
              'teacher': cfg.get('teacher')}
    for key, model in (('model.architecture', models['student']),
                       ('model.teacher', models['teacher'])):
        if isinstance(model, Mapping) and 'model-scopes' not in skip:
            _check_model_scope(key, model)
    distiller = cfg.get('distiller')
    if not isinstance(distiller, Mapping):
        return
    type_ = distiller.get('type')
    if 'distiller-type' in skip:
        cls = MODELS.get(type_) if isinstance(type_, str) else type_
        if not inspect.isclass(cls):
            return
    else:
        cls = _resolve(MODELS, type_, f'{DISTILLER}.type', 'distiller')
    if not issubclass(cls, ConfigurableDistiller):
        return

    recorders = {side: distiller.get(f'{side}_recorders') or {}
                 for side in SIDES}
    for side in SIDES:
        for name, recorder in recorders[side].items():
            if 'recorders' not in skip:
                _check_recorder(f'{DISTILLER}.{side}_recorders.{name}',
                                recorder)

    connectors = distiller.get('connectors') or {}
    for name, connector in (connectors.items()
                            if 'connectors' not in skip else ()):
        parts = connector if isinstance(connector, list) else [connector]
        for part in parts:
            part = part if isinstance(part, Mapping) else {}
            cls = _resolve(MODELS, part.get('type'),
                           f'{DISTILLER}.connectors.{name}.type', 'connector')
            if 'flags' not in skip:
                _check_bool_args(f'{DISTILLER}.connectors.{name}', cls, part)

    losses = distiller.get('distill_losses') or {}
    mappings = distiller.get('loss_forward_mappings') or {}
    if 'flags' not in skip:
        for name, loss in losses.items():
            loss_cls = (MODELS.get(loss.get('type')) if isinstance(
                loss, Mapping) and isinstance(loss.get('type'), str) else None)
            if inspect.isclass(loss_cls):
                _check_bool_args(f'{DISTILLER}.distill_losses.{name}',
                                 loss_cls, loss)
    if 'losses' not in skip:
        _check_losses(losses, mappings)
    if 'mappings' in skip:
        return
    for name, mapping in mappings.items():
        type_ = (losses.get(name) or {}).get('type') \
            if isinstance(losses.get(name), Mapping) else None
        loss_cls = MODELS.get(type_) if isinstance(type_, str) else type_
        if not inspect.isclass(loss_cls):
            continue  # an unknown loss type: the 'losses' check's finding
        _check_mapping(name, mapping, loss_cls, recorders, connectors,
                       models, 'argument-side-names' not in skip)


def _check_bool_args(key: str, cls: type, cfg: Mapping) -> None:
    """Every argument ``cls`` declares as ``bool`` (by annotation or
    default) that ``cfg`` gives is a bool."""
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name in cfg and (param.annotation in (bool, 'bool')
                            or isinstance(param.default, bool)):
            check_bool(f'{key}.{name}', cfg[name])


def check_algorithm_options(cfg: Mapping, skip: Any = (),
                            input_size: Any = None) -> None:
    """Check the algorithm's flags and ``input_size`` before building.

    Args:
        cfg (Mapping): The algorithm's keyword arguments; those of
            :data:`FLAGS` it holds are checked (check ``'flags'``).
        skip (Sequence[str]): ``model.skip_checks``.
        input_size: ``model.input_size``.

    Raises:
        ValueError: Naming the key, the value seen and the fix.
    """
    skip = check_skip_names(skip)
    if 'flags' not in skip:
        for flag in FLAGS:
            if flag in cfg:
                check_bool(f'model.{flag}', cfg[flag])
    if input_size is not None:
        check_input_size(input_size)


def check_input_size(input_size: Any) -> Tuple[int, ...]:
    """``model.input_size`` as a tuple ``(C, H, W)`` of bounded size."""
    if not isinstance(input_size, (tuple, list)) or len(input_size) != 3 \
            or not all(isinstance(v, int) and not isinstance(v, bool)
                       and v > 0 for v in input_size):
        raise ValueError(
            'model.input_size must be the shape of one image, (channels, '
            f'height, width), three positive ints such as (3, 224, 224), got '
            f'{input_size!r}. It is what the build-time dry run feeds the '
            'models, without the batch dimension.')
    values = input_size[0] * input_size[1] * input_size[2]
    if values > MAX_INPUT_VALUES:
        raise ValueError(
            f'model.input_size={tuple(input_size)} has {values:,} values, '
            f'more than the {MAX_INPUT_VALUES:,} the build-time dry run '
            'allows (it runs both models on a batch of two such inputs). '
            'Give the size of one training image (e.g. (3, 224, 224)).')
    return tuple(input_size)


def _check_losses(losses: Mapping, mappings: Mapping) -> None:
    for name, loss in losses.items():
        key = f'{DISTILLER}.distill_losses.{name}'
        if 'loss' not in name:
            raise ValueError(
                f'{key}: MMEngine back-propagates only the log entries whose '
                f"name contains 'loss', so {name!r} would be logged and "
                f"never trained. Rename it, e.g. 'loss_{name}' (and its "
                'key in loss_forward_mappings).')
        loss = loss if isinstance(loss, Mapping) else {}
        _resolve(MODELS, loss.get('type'), f'{key}.type', 'loss')
        weight = loss.get('loss_weight', 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ValueError(f'{key}.loss_weight must be a number, got '
                             f'{weight!r}.')
    for name in mappings:
        if name not in losses:
            raise ValueError(
                f'{DISTILLER}.loss_forward_mappings.{name}: no distill loss '
                f'of that name.{_did_you_mean(name, losses)} Defined in '
                f'{DISTILLER}.distill_losses: {_quoted(losses)}.')
    for name in losses:
        if name not in mappings:
            raise ValueError(
                f'{DISTILLER}.distill_losses.{name} has no entry in '
                f'{DISTILLER}.loss_forward_mappings, so it would never be '
                f'computed. Add loss_forward_mappings.{name}=dict(...) '
                'giving each of its inputs.')


def check_teacher_options(teacher_dtype: Any, teacher_memory_format: Any,
                          teacher_compile: Any,
                          teacher_trainable: Any = False) -> None:
    """Check the teacher's precision and layout options before building.

    Raises:
        ValueError: Naming the config key, the value seen and the allowed
            values, or why the value cannot run on this machine.
    """
    if not isinstance(teacher_dtype, str) or \
            teacher_dtype not in TEACHER_DTYPE_VALUES:
        raise ValueError(
            f'model.teacher_dtype must be one of '
            f'{", ".join(repr(k) for k in TEACHER_DTYPE_VALUES)}, got '
            f'{teacher_dtype!r}.')
    if not isinstance(teacher_memory_format, str) or \
            teacher_memory_format not in TEACHER_MEMORY_FORMATS:
        raise ValueError(
            f'model.teacher_memory_format must be one of '
            f'{", ".join(repr(k) for k in TEACHER_MEMORY_FORMATS)}, got '
            f'{teacher_memory_format!r}.')
    check_bool('model.teacher_compile', teacher_compile)
    if teacher_dtype == 'fp16' and not torch.cuda.is_available():
        raise ValueError(
            "model.teacher_dtype='fp16' needs a CUDA GPU, and none is "
            "available (torch.cuda.is_available() is False). Use "
            "model.teacher_dtype='auto', 'bf16' (CPU autocast) or 'fp32'.")
    if teacher_dtype == 'bf16' and torch.cuda.is_available() and \
            not cuda_bf16_supported():
        raise ValueError(
            "model.teacher_dtype='bf16': this CUDA device has no native "
            'bfloat16 support (torch.cuda.is_bf16_supported() is False; '
            "pre-Ampere GPUs such as V100 emulate it slowly). Use "
            "model.teacher_dtype='auto', 'fp16' or 'fp32'.")
    if teacher_dtype not in ('fp32', 'auto') and teacher_trainable:
        raise ValueError(
            f'model.teacher_dtype={teacher_dtype!r} is only for a frozen '
            'teacher, but model.teacher_trainable is True. A trainable '
            "teacher trains in its optim wrapper's precision (e.g. "
            "optim_wrapper=dict(type='AmpOptimWrapper')): set "
            "model.teacher_dtype='fp32' (or 'auto', which is fp32 for a "
            'trainable teacher).')
