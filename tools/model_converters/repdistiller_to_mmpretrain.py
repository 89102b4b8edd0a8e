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
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from projkd_mm.utils.convert import REPDISTILLER_ARCHS, converter_main

if __name__ == '__main__':
    sys.exit(converter_main(
        REPDISTILLER_ARCHS, 'RepDistiller',
        'Convert a RepDistiller/CRD/mdistiller CIFAR checkpoint to an '
        'mmpretrain ImageClassifier checkpoint, checked key for key.'))
