"""Export an exported student to ONNX, checked by onnxruntime on its test set.

    python tools/deploy_student.py OUT.pth [--config OUT.py]
        [--onnx OUT.onnx] [--data-root DIR] [--max-logit-diff 1e-4]

OUT.pth and OUT.py are what tools/export_student.py writes. The ONNX file
(opset 18, dynamic batch) maps float32 pixels (batch, C, H, W) in 0-255, as
the config's test pipeline packs them, to logits (batch, classes); the
model's normalisation is inside. Before it is kept, onnxruntime (CPU) runs
it on every image of the config's test set (--data-root replaces the
folder): the largest |logit difference| to PyTorch and the top-1 agreement
are printed, and above --max-logit-diff or below 100 % agreement it is an
error that leaves no ONNX file behind. Needs pip install -e '.[deploy]'.
"""
import argparse
import os.path as osp
import sys

TOOLS = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(TOOLS))
if TOOLS not in sys.path:
    sys.path.append(TOOLS)
# torch, mmengine and projkd_mm are imported in main(), after parse_args(),
# so --help and argument errors answer at once.


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='student weights (OUT.pth)')
    parser.add_argument('--config',
                        help='its plain mmpretrain config (default: OUT.py '
                        'beside OUT.pth)')
    parser.add_argument('--onnx', help='output file (default: OUT.onnx)')
    parser.add_argument('--data-root',
                        help="folder of the config's test set, if not the "
                        "config's data_root")
    parser.add_argument('--max-logit-diff', type=float, default=1e-4,
                        help='largest |logit difference| to PyTorch '
                        'accepted (default: 1e-4)')
    args = parser.parse_args(argv)
    stem = osp.splitext(args.checkpoint)[0]
    args.config = args.config or stem + '.py'
    args.onnx = args.onnx or stem + '.onnx'
    if not osp.isfile(args.config):
        parser.error(f'no config {args.config!r}: give the config of '
                     f'{args.checkpoint} with --config (tools/'
                     'export_student.py writes it beside the weights)')
    if not args.max_logit_diff >= 0:
        parser.error(f'--max-logit-diff {args.max_logit_diff} must be >= 0')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from projkd_tools.cli import import_projkd_mm
    import_projkd_mm()
    from projkd_tools.deploy import DeployError, deploy, describe
    try:
        figures = deploy(args.checkpoint, args.config, args.onnx,
                         data_root=args.data_root,
                         max_logit_diff=args.max_logit_diff)
    except DeployError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    for line in describe(args.onnx, figures):
        print(line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
