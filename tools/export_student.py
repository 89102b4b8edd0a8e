"""Export the student of a distillation checkpoint as a plain mmpretrain
checkpoint (teacher and projectors dropped) and the config that runs it.

    python tools/export_student.py CKPT OUT.pth [--config CONFIG]
        [--no-config] [--prefix architecture.]

Writes OUT.pth (the weights) and OUT.py (the student's own mmpretrain
config: model with its data preprocessor, test pipeline and dataloader,
class names; custom_imports of projkd_mm where a component is ours). Then

    ImageClassificationInferencer(model='OUT.py', pretrained='OUT.pth')

classifies images, and tools/test.py OUT.py OUT.pth evaluates it.

The student's config comes from CONFIG, the config CKPT was trained with
(or the student's plain config); by default from the config MMEngine's
Runner saved beside CKPT, read as data (never executed). The weights are
loaded strictly into that model first, so a mismatch is an error, not a
broken export. --no-config writes the weights alone.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
# torch, mmengine and projkd_mm are imported in main(), after parse_args(),
# so --help and argument errors answer at once.


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='distillation checkpoint')
    parser.add_argument('out', help='output checkpoint file (OUT.pth)')
    parser.add_argument(
        '--prefix',
        default=None,  # projkd_mm.utils.export.STUDENT_PREFIX
        help="weights to keep: 'architecture.' (student, default), "
        "'teacher.', or 'none' for everything")
    parser.add_argument(
        '--config',
        help='the config CKPT was trained with, or the plain config of the '
        "exported model (default: the Runner's saved copy beside CKPT)")
    parser.add_argument(
        '--no-config', action='store_true',
        help='write the weights alone (with --config: still check them '
        'against it)')
    args = parser.parse_args(argv)
    if args.prefix is not None and not args.prefix.strip('.'):
        parser.error(f'--prefix {args.prefix!r} is empty: it would keep every '
                     "weight. Give 'architecture.' (the student), "
                     "'teacher.', or 'none' to keep everything on purpose.")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    import projkd_mm  # noqa: F401
    from projkd_mm.utils.export import (
        SAVED_CONFIG,
        STUDENT_PREFIX,
        config_path_for,
        export_submodel,
    )
    from projkd_mm.utils.safe_load import CheckpointError
    if args.prefix is None:
        args.prefix = STUDENT_PREFIX
    prefix = None if args.prefix.lower() == 'none' else args.prefix
    config = args.config
    if config is None and not args.no_config:
        config = SAVED_CONFIG
    try:
        state_dict = export_submodel(args.checkpoint, args.out, prefix,
                                     config=config,
                                     write_config=not args.no_config)
    except CheckpointError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    n_params = sum(v.numel() for v in state_dict.values())
    print(f'Saved {len(state_dict)} tensors ({n_params:,} values) to '
          f'{args.out}')
    if not args.no_config:
        print(f'Saved its config to {config_path_for(args.out)}')
    if config is not None:
        print('Checked: loads strictly into the model of '
              f'{args.config or "the config saved beside the checkpoint"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
