"""Projector widths found by one dry forward pass at build time.

A ``ProjectorEnsembleConnector`` may leave ``in_channels`` and/or
``out_channels`` as ``None``. The algorithm then runs student and teacher
once, in eval mode and without gradients, on a dummy batch of
``(2, *input_size)`` through their recorders, reads the features every loss
mapping names, and creates each connector's projectors for the widths it
finds: ``in_channels`` from the recorded feature the connector is applied
to, ``out_channels`` from the feature of the other side that the same loss
compares it with. Explicit widths are checked against the same pass.

The pass changes nothing a training run depends on: BatchNorm statistics
and every module's train/eval flag are restored, dropout is off (eval
mode), and the dummy batch comes from a private random generator, so the
global RNG stream (which MMEngine's ``init_weights`` draws from afterwards)
is untouched.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import MMLogger

from projkd_mm.validation import check_input_size


class WidthInferenceError(ValueError):
    """A projector width could not be found or disagrees with the config."""


def _width(feature, where: str) -> int:
    from projkd_mm.models.connectors import ProjectorEnsembleConnector
    try:
        width = ProjectorEnsembleConnector.feature_width(feature)
    except ValueError as e:
        raise WidthInferenceError(f'{where}: {e}') from None
    if width < 1:
        raise WidthInferenceError(
            f'{where}: the recorded feature has shape {tuple(feature.shape)}'
            ', so its inferred width is 0. Record a module with channels '
            '(the recorder\'s source) or pick another output (data_idx).')
    return width


def _dry_run(algorithm, input_size: Tuple[int, ...]) -> None:
    """One forward of teacher and student through their recorders."""
    generator = torch.Generator().manual_seed(0)
    device = next(algorithm.parameters()).device
    inputs = torch.randn((2, ) + input_size, generator=generator).to(device)
    flags = [(m, m.training) for m in algorithm.modules()]
    buffers = [(b, b.detach().clone()) for b in algorithm.buffers()]
    algorithm.eval()
    try:
        with torch.no_grad():
            # The teacher's forward even when training reads a cache: the
            # dummy batch is no view of a training image.
            algorithm.record(inputs, None, mode='tensor',
                             teacher=algorithm.online_teacher)
    except Exception as e:
        raise WidthInferenceError(
            f'The dry forward pass on a dummy batch of shape '
            f'{tuple(inputs.shape)} (model.input_size={input_size}) that '
            f'finds the projector widths failed: {type(e).__name__}: {e}. '
            'Set model.input_size to the shape of one training input, '
            'e.g. (3, 224, 224), or give the connector\'s in_channels and '
            'out_channels.') from e
    finally:
        for module, training in flags:
            module.training = training
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)


def _check_shared(name: str,
                  uses: List[Tuple[int, Optional[int], str, str]]) -> None:
    """One connector has one input and one output width: refuse one that
    loss mappings apply to features of different widths."""
    for index, what in ((0, 'applied to'), (1, 'compared with')):
        widths = {use[index]: use for use in uses if use[index] is not None}
        if len(widths) < 2:
            continue
        sides = {use[2] for use in uses}
        side = sides.pop() + ' ' if len(sides) == 1 else ''
        if index == 1:
            side = {'student ': 'teacher ', 'teacher ': 'student '}.get(
                side, side)
        listed = ' and '.join(f'{width} ({use[3]})'
                              for width, use in widths.items())
        raise WidthInferenceError(
            f'Connector {name!r} is {what} {side}features of different '
            f'widths: {listed}. One connector has one width, so no value '
            'of it fits every use: give each its own connector (another '
            'entry in model.distiller.connectors, named in the connector= '
            'of one of the mappings).')


def _common_width(loss: str, name: str, other: str,
                  ours: Dict) -> int:
    """The output width two connectors on the two sides of one loss
    share: the one given to either of them."""
    outs = {each: ours[each].out_channels for each in (name, other)}
    given = {width for width in outs.values() if width is not None}
    if len(given) > 1:
        raise WidthInferenceError(
            f'The connectors {name!r} (out_channels={outs[name]}) and '
            f'{other!r} (out_channels={outs[other]}) map the two sides of '
            f'loss {loss!r}, whose inputs are compared element by element: '
            'give both the same out_channels.')
    if not given:
        raise WidthInferenceError(
            f'The connectors {name!r} and {other!r} map the two sides of '
            f'loss {loss!r}, so no recorded feature fixes their output '
            'width: give both the same out_channels (model.distiller.'
            f'connectors.{name}.out_channels and .{other}.out_channels).')
    return given.pop()


def _other_side(mapping: Dict, arg: str) -> Optional[Dict]:
    """The argument of the same loss from the other network, if one."""
    side = mapping[arg].get('from_student', True)
    for name, spec in mapping.items():
        if name != arg and spec.get('from_student', True) != side:
            return spec
    return None


def connectors_to_infer(algorithm) -> List[str]:
    """Names of the connectors that still need their widths."""
    connectors = getattr(algorithm.distiller, 'connectors', {})
    return [name for name, c in connectors.items()
            if hasattr(c, 'widths_known') and not c.widths_known]


def infer_widths(algorithm, input_size: Optional[Sequence[int]]) -> None:
    """Infer missing connector widths and check the given ones.

    Without ``input_size`` nothing runs, unless a width is missing: then
    the error names ``model.input_size``. With it, the distillation losses
    are also computed once on the dry run's features, so a pair of features
    a loss cannot compare fails here, at build time.
    """
    distiller = algorithm.distiller
    connectors = getattr(distiller, 'connectors', {})
    ours = {name: c for name, c in connectors.items()
            if hasattr(c, 'widths_known')}
    missing = connectors_to_infer(algorithm)
    if input_size is None:
        if missing:
            raise WidthInferenceError(
                f'model.input_size is not set, but connector(s) '
                f'{", ".join(map(repr, missing))} leave in_channels/'
                'out_channels to be inferred, which takes one dry forward '
                'pass on a dummy batch. Set model.input_size to the shape of '
                'one training input, e.g. input_size=(3, 224, 224), or give '
                'the widths (model.distiller.connectors.<name>.in_channels '
                'and out_channels).')
        return
    if not ours:
        return
    input_size = check_input_size(input_size)
    _dry_run(algorithm, input_size)

    def record(spec: Dict):
        return distiller.get_record(
            spec['recorder'], spec.get('from_student', True),
            spec.get('record_idx', 0), spec.get('data_idx'))

    found: Dict[str, Tuple[Optional[int], Optional[int]]] = {}
    # connector -> [(width in, width out, side, where)] of each use
    uses: Dict[str, List[Tuple[int, Optional[int], str, str]]] = {}
    two_sided: List[Tuple[str, str, str]] = []  # (loss, connector, other)
    for loss_name, mapping in distiller.loss_forward_mappings.items():
        for arg, spec in mapping.items():
            name = spec.get('connector')
            if name not in ours:
                continue
            side = 'student' if spec.get('from_student', True) else 'teacher'
            where = (f'connector {name!r} (loss {loss_name!r}, argument '
                     f'{arg!r}, {side} recorder {spec["recorder"]!r})')
            c_in = _width(record(spec), where)
            other = _other_side(mapping, arg)
            c_out = None
            if other is not None and other.get('connector') is None:
                other_side = 'teacher' if side == 'student' else 'student'
                c_out = _width(
                    record(other),
                    f'{where}: the {other_side} feature it is compared with '
                    f'(recorder '
                    f'{other["recorder"]!r})')
            elif other is not None and other.get('connector') in ours and \
                    side == 'student':
                two_sided.append((loss_name, name, other['connector']))
            uses.setdefault(name, []).append(
                (c_in, c_out, side,
                 f'loss {loss_name!r}, argument {arg!r}, recorder '
                 f'{spec["recorder"]!r}'))
            found[name] = (c_in, c_out)
    for name, seen in uses.items():
        _check_shared(name, seen)
    for loss_name, name, other in two_sided:
        common = _common_width(loss_name, name, other, ours)
        for each in (name, other):
            found[each] = (found[each][0], common)

    log = MMLogger.get_current_instance()
    for name, connector in ours.items():
        c_in, c_out = found.get(name, (None, None))
        given = (connector.in_channels, connector.out_channels)
        for key, value, inferred in (('in_channels', given[0], c_in),
                                     ('out_channels', given[1], c_out)):
            if value is not None and inferred is not None and \
                    value != inferred:
                raise WidthInferenceError(
                    f'Connector {name!r}: {key}={value} in the config, but '
                    f'the dry forward pass on input_size={input_size} finds '
                    f'{inferred}. Set model.distiller.connectors.{name}.'
                    f'{key}={inferred}, or leave it out (None) to have it '
                    'inferred.')
            if value is None and inferred is None:
                raise WidthInferenceError(
                    f'Connector {name!r}: {key} is left to be inferred, but '
                    'no loss mapping applies the connector to a recorded '
                    'feature' + (' and compares it with a feature of the '
                                 'other network' if key == 'out_channels'
                                 else '') +
                    f'. Give model.distiller.connectors.{name}.{key}.')
        c_in = given[0] if given[0] is not None else c_in
        c_out = given[1] if given[1] is not None else c_out
        if not connector.widths_known:
            connector.set_widths(c_in, c_out)
            how = 'inferred'
        else:
            how = 'checked'
        log.info(f'{name}: {c_in} -> {c_out}, {connector.num_projectors} '
                 f'member{"s" if connector.num_projectors > 1 else ""} '
                 f'({how} by a dry run on input_size={input_size})')
    # The losses on the dry run's features: a layout or width the loss
    # cannot compare is an error now, not at the first training step.
    try:
        with torch.no_grad():
            distiller.compute_distill_losses()
    except (ValueError, RuntimeError, TypeError, IndexError) as e:
        message = (f'At build time, on the dry run\'s features '
                   f'(model.input_size={input_size}): {e}')
        try:
            error = type(e)(message)
        except Exception:  # an exception type with other arguments
            error = WidthInferenceError(message)
        raise error from e
