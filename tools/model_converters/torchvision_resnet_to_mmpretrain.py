"""Convert a torchvision ResNet checkpoint to mmpretrain's ResNet layout.

    python tools/model_converters/torchvision_resnet_to_mmpretrain.py \
        resnet34-333f7ec4.pth \
        checkpoints/imagenet/resnet34_tv_mmpretrain.pth --arch resnet34

The ImageNet teacher of the PEFD paper is torchvision's ResNet34 (73.31%);
the configs default to mmpretrain's zoo ResNet34 (73.62%). To use the
torchvision one, convert it and pass
``--cfg-options model.teacher_ckpt=<that file>``.
Keys keep their names under ``backbone.``; ``fc`` becomes ``head.fc``.
"""
import argparse
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
sys.path.append(osp.join(REPO, 'tools'))
# torch, mmengine and projkd_mm are imported in main(), after the arguments
# are parsed, so --help and argument errors answer at once.
from projkd_tools.cli import converter_main, converter_parser  # noqa: E402

SOURCE = 'torchvision'
DESCRIPTION = (
    'Convert a torchvision ResNet checkpoint to an mmpretrain '
    'ImageClassifier checkpoint, checked key for key.')
# The keys of projkd_mm.utils.convert.TORCHVISION_ARCHS, written out
# so the parser needs no torch (tests/test_tools.py checks they agree).
ARCHS = ('resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152')


def parse_args(argv=None) -> argparse.Namespace:
    """The converter's flags, without heavy imports."""
    return converter_parser(SOURCE, DESCRIPTION, ARCHS).parse_args(argv)


def main(argv=None) -> int:
    return converter_main(ARCHS, SOURCE, DESCRIPTION, argv)


if __name__ == '__main__':
    sys.exit(main())
