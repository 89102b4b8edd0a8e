"""Export the student of a distillation checkpoint as a plain mmpretrain
checkpoint (teacher and projectors dropped).

    python tools/export_student.py CKPT OUT [--prefix architecture.]
        [--config STUDENT_CONFIG]

With --config, the exported weights are loaded strictly into the model of
that (plain mmpretrain) config, so a mismatch shows up now, not later.
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
    parser.add_argument('out', help='output checkpoint file')
    parser.add_argument(
        '--prefix',
        default=None,  # projkd_mm.utils.export.STUDENT_PREFIX
        help="weights to keep: 'architecture.' (student, default), "
        "'teacher.', or 'none' for everything")
    parser.add_argument(
        '--config', help='plain student config to check the export against')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    import projkd_mm  # noqa: F401
    from projkd_mm.utils.export import STUDENT_PREFIX, export_submodel
    if args.prefix is None:
        args.prefix = STUDENT_PREFIX
    prefix = None if args.prefix.lower() == 'none' else args.prefix
    check = None
    if args.config:
        from mmengine.config import Config
        from mmpretrain.registry import MODELS

        from projkd_mm.utils.checkpoint import load_state_dict_strict
        model = MODELS.build(Config.fromfile(args.config).model)

        def check(state_dict):
            load_state_dict_strict(
                model, state_dict,
                f'export of {args.checkpoint!r} (nothing was written)')

    state_dict = export_submodel(args.checkpoint, args.out, prefix, check)
    n_params = sum(v.numel() for v in state_dict.values())
    print(f'Saved {len(state_dict)} tensors ({n_params:,} values) to '
          f'{args.out}')
    if args.config:
        print(f'Checked: loads strictly into the model of {args.config}')


if __name__ == '__main__':
    main()
