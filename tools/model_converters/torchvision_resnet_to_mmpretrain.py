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
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from projkd_mm.utils.convert import TORCHVISION_ARCHS, converter_main

if __name__ == '__main__':
    sys.exit(converter_main(
        TORCHVISION_ARCHS, 'torchvision',
        'Convert a torchvision ResNet checkpoint to an mmpretrain '
        'ImageClassifier checkpoint, checked key for key.'))
