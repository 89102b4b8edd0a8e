"""Convert a RepDistiller/CRD (or mdistiller) CIFAR teacher to mmpretrain.

    python tools/model_converters/repdistiller_to_mmpretrain.py \
        save/models/resnet32x4_vanilla/ckpt_epoch_240.pth \
        checkpoints/cifar100/resnet32x4_mmpretrain.pth --arch resnet32x4

``--arch`` is the model's name in RepDistiller's ``models.model_dict`` (the
prefix of its ``<arch>_vanilla`` folder): resnet8 ... resnet110, resnet8x4,
resnet32x4, ResNet50, wrn_16_1, wrn_16_2, wrn_40_1, wrn_40_2, vgg8 ... vgg19,
MobileNetV2, ShuffleV1, ShuffleV2. The output loads strictly into the
teacher of configs/projkd/cifar100/ (set model.teacher_ckpt to it). See
projkd_mm/utils/convert.py for the key mapping.
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

SOURCE = 'RepDistiller'
DESCRIPTION = (
    'Convert a RepDistiller/CRD/mdistiller CIFAR checkpoint to an '
    'mmpretrain ImageClassifier checkpoint, checked key for key.')
# The keys of projkd_mm.utils.convert.REPDISTILLER_ARCHS, written out
# so the parser needs no torch (tests/test_tools.py checks they agree).
ARCHS = ('resnet8', 'resnet14', 'resnet20', 'resnet32', 'resnet44', 'resnet56',
         'resnet110', 'resnet8x4', 'resnet32x4', 'ResNet50', 'wrn_16_1',
         'wrn_16_2', 'wrn_40_1', 'wrn_40_2', 'vgg8', 'vgg11', 'vgg13', 'vgg16',
         'vgg19', 'MobileNetV2', 'ShuffleV1', 'ShuffleV2')


def parse_args(argv=None) -> argparse.Namespace:
    """The converter's flags, without heavy imports."""
    return converter_parser(SOURCE, DESCRIPTION, ARCHS).parse_args(argv)


def main(argv=None) -> int:
    return converter_main(ARCHS, SOURCE, DESCRIPTION, argv)


if __name__ == '__main__':
    sys.exit(main())
