"""MMRazor's ConfigurableDistiller with recorder mistakes explained."""
import difflib
from typing import Callable, Iterator, Optional, Tuple

from mmrazor.models.distillers import ConfigurableDistiller
from mmrazor.models.task_modules.recorder import (
    ModuleOutputsRecorder,
    ParameterRecorder,
)
from mmrazor.registry import MODELS
from torch import nn


class RecorderSourceError(ValueError, AssertionError):
    """A recorder ``source`` that names nothing in the model it records.

    Also an ``AssertionError``: mmrazor 1.0.0 asserts here, and code that
    catches its type keeps working."""


class RecordIndexError(IndexError, AssertionError):
    """A ``record_idx``/``data_idx`` out of range (also an
    ``AssertionError``, as upstream)."""


class RecordTypeError(TypeError, AssertionError):
    """A ``data_idx`` on a source that returns a single tensor (also an
    ``AssertionError``, as upstream)."""


def _names(model: nn.Module,
           recorder) -> Optional[Tuple[str, Callable[[], Iterator]]]:
    """What a recorder's ``source`` must name, or None to not check."""
    if isinstance(recorder, ModuleOutputsRecorder):
        return 'module', model.named_modules
    if isinstance(recorder, ParameterRecorder):
        return 'parameter', model.named_parameters
    return None


@MODELS.register_module()
class CheckedConfigurableDistiller(ConfigurableDistiller):
    """``ConfigurableDistiller`` whose recorder mistakes are real errors.

    mmrazor 1.0.0 checks recorder sources and ``record_idx``/``data_idx``
    with bare ``assert`` statements, which ``python -O`` removes and whose
    messages name neither the recorder nor what is allowed. This subclass
    runs the same checks first and raises errors that name the source, the
    closest names of the model or the allowed indices, and the config key
    to fix. Their types (:class:`RecorderSourceError`,
    :class:`RecordIndexError`, :class:`RecordTypeError`) are also
    ``AssertionError``, so code written against upstream still catches
    them. Everything else is mmrazor's.
    """

    def _check_sources(self, manager, model: nn.Module, side: str) -> None:
        for recorder in manager.recorders.values():
            kind = _names(model, recorder)
            if kind is None:
                continue
            what, named = kind
            names = [name for name, _ in named()]
            if recorder.source in names:
                continue
            close = difflib.get_close_matches(recorder.source, names, 5)
            raise RecorderSourceError(
                f'{type(recorder).__name__}: source {recorder.source!r} is '
                f'not a {what} of the {type(model).__name__} it records. '
                f'Closest names: {", ".join(map(repr, close)) or "none"}. '
                f'Fix model.distiller.{side}_recorders.<name>.source (all '
                f'names: [n for n, _ in model.named_{what}s()]).')

    def prepare_from_student(self, model: nn.Module) -> None:
        self._check_sources(self.student_recorders, model, 'student')
        super().prepare_from_student(model)

    def prepare_from_teacher(self, model: nn.Module) -> None:
        self._check_sources(self.teacher_recorders, model, 'teacher')
        super().prepare_from_teacher(model)

    def get_record(self,
                   recorder: str,
                   from_student: bool,
                   record_idx: int = 0,
                   data_idx: Optional[int] = None,
                   connector: Optional[str] = None,
                   connector_idx: Optional[int] = None):
        manager = (self.student_recorders
                   if from_student else self.teacher_recorders)
        found = manager.get_recorder(recorder)
        where = (f'{type(found).__name__} of source {found.source!r} (fix it '
                 'in model.distiller.loss_forward_mappings)')
        records = found.data_buffer
        if not records:
            raise RecordIndexError(
                f'{where}: the source did not run in this forward pass, so '
                'it recorded nothing. A module that runs only when the loss '
                "is computed (mode 'loss'; head.loss_module, say) records "
                "nothing in mode 'tensor' or 'predict', which the "
                'build-time dry run of model.input_size uses. Record a '
                "module every forward runs (e.g. 'neck' or 'head.fc'), or "
                "give the connectors' widths and leave model.input_size "
                'out.')
        if not -len(records) <= record_idx < len(records):
            raise RecordIndexError(
                f'{where}: record_idx={record_idx}, but the source ran '
                f'{len(records)} time(s) in this forward pass. record_idx '
                'picks one of those calls: use 0 for the first.')
        record = records[record_idx]
        if data_idx is not None:
            if not isinstance(record, (list, tuple)):
                raise RecordTypeError(
                    f'{where}: data_idx={data_idx}, but the source returns a '
                    f'single {type(record).__name__}, not a tuple: remove '
                    'data_idx.')
            if not -len(record) <= data_idx < len(record):
                allowed = ('0' if len(record) == 1 else
                           f'0 to {len(record) - 1}')
                raise RecordIndexError(
                    f'{where}: data_idx={data_idx}, but the source returns '
                    f'a tuple of {len(record)}: use {allowed}.')
        return super().get_record(recorder, from_student, record_idx,
                                  data_idx, connector, connector_idx)
