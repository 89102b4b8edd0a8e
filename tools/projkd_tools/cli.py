"""Command-line pieces the tools share, without heavy imports.

Not a tool (no ``__main__``): the tools import it before torch, mmengine or
projkd_mm, so ``--help`` and argument errors answer at once instead of after
seconds of imports. Everything that needs mmengine happens after parsing.
"""
import argparse
from typing import Dict, List, Optional, Tuple


def import_projkd_mm():
    """Import projkd_mm the way every tool does: upstream import noise
    silenced (``projkd_mm.compat.UPSTREAM_WARNINGS``), and the opt-in
    workarounds the tools rely on enabled (checkpoint loads under the trust
    policy; docs/faq.md)."""
    import warnings

    # The import emits the listed warnings before the list can be read:
    # hold them back, then let the unlisted ones through.
    with warnings.catch_warnings(record=True) as caught:
        import projkd_mm
    projkd_mm.compat.enable('quiet-upstream-warnings',
                            'safe-checkpoint-loading')
    projkd_mm.compat.reissue_unlisted_warnings(caught)
    return projkd_mm


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the flags every OpenMMLab tool has."""
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    # Kept as 'KEY=VALUE' strings here (extended like MMEngine's DictAction
    # when given twice); cfg_options_dict() turns them into the dict.
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action='extend',
        help='override config settings, e.g. model.teacher_ckpt=/x.pth '
        'train_cfg.max_epochs=10')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local_rank, torchrun sets LOCAL_RANK
    # and older tools pass --local-rank: accept both spellings.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def cfg_options_dict(values: Optional[List[str]]) -> Optional[Dict]:
    """``--cfg-options`` strings read as MMEngine's ``DictAction`` reads
    them (``a=1`` is an int, ``b=[1,2]`` a list, ...). Imports mmengine."""
    if values is None:
        return None
    from mmengine.config import DictAction
    namespace = argparse.Namespace()
    DictAction(option_strings=['--cfg-options'], dest='cfg_options')(
        None, namespace, values)
    return namespace.cfg_options


def converter_parser(source: str, description: str,
                     archs: Tuple[str, ...]) -> argparse.ArgumentParser:
    """The converters' flags (``--arch`` choices from the tool's list)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help=f'{source} checkpoint (.pth)')
    parser.add_argument('dst', help='output mmpretrain checkpoint (.pth)')
    parser.add_argument('--arch', required=True, choices=list(archs),
                        help='the architecture the checkpoint was trained '
                        'as (its model name in the source zoo)')
    return parser


def converter_main(archs_names: Tuple[str, ...], source: str,
                   description: str, argv: Optional[List[str]] = None) -> int:
    """The command of the converters in ``tools/model_converters/``:
    parse (before any heavy import), convert with
    :func:`projkd_mm.utils.convert.convert_checkpoint`, report.

    ``archs_names`` are the keys of the converter's table in
    ``projkd_mm.utils.convert`` (``REPDISTILLER_ARCHS`` or
    ``TORCHVISION_ARCHS``, chosen by ``source``), written out by the tool so
    that ``--help`` needs no torch (tests/test_tools.py checks they agree).

    Returns:
        int: 0 on success, 1 with the reason on stderr otherwise.
    """
    import sys
    parser = converter_parser(source, description, archs_names)
    args = parser.parse_args(argv)
    import_projkd_mm()
    from projkd_mm.utils import convert
    from projkd_mm.utils.safe_load import CheckpointError
    archs = {'RepDistiller': convert.REPDISTILLER_ARCHS,
             'torchvision': convert.TORCHVISION_ARCHS}[source]
    try:
        meta = convert.convert_checkpoint(args.src, args.dst, args.arch,
                                          archs, source, parser.prog)
    except (CheckpointError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'Wrote {args.dst}: {meta["arch"]}, {meta["num_classes"]} classes'
          f', checked against the mmpretrain ImageClassifier '
          f'(backbone {archs[args.arch].backbone["type"]}).')
    return 0
