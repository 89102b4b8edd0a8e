"""The model zoo's facts, in one table.

Every architecture of the paper's pairs (how it maps onto an mmpretrain
classifier, its penultimate width, its parameter count) and every pair
(config, teacher, student, learning rate, the published reference
accuracies). The converters read :data:`REPDISTILLER_ARCHS` and
:data:`TORCHVISION_ARCHS`; tests check the configs and the built models
against these entries; benchmarks find their pairs here; the tables of
README.md and docs/model_zoo.md are rendered from here
(``python -m projkd_mm.zoo``; a test keeps the docs equal to it).

Plain data: importing this module imports nothing heavy.
"""
from typing import Dict, NamedTuple, Optional, Tuple


class ArchSpec(NamedTuple):
    """How one reference architecture maps onto an mmpretrain classifier.

    Attributes:
        backbone (dict): mmpretrain backbone config (registered type).
        feat_dim (int): Penultimate width, the head's ``in_channels``.
        classifier (str): The reference's classifier prefix, renamed to
            ``head.fc``.
        renames (tuple): ``(old, new)`` substrings replaced in backbone keys,
            for layers mmpretrain names differently.
        params (int, optional): Parameters of the whole ``ImageClassifier``
            with a 100-class ``LinearClsHead`` (1000 for ImageNet models),
            equal to the reference model's count (checked by
            tests/test_model_zoo.py).
        config (str, optional): How docs/model_zoo.md writes the backbone.
        head_init (str): How the reference initialises the classifier, a
            key of :data:`HEAD_INIT_CFGS`: ``'torch'`` (PyTorch's default
            ``nn.Linear`` init), ``'torch-zero-bias'`` (that, bias zeroed:
            RepDistiller's WRN) or ``'normal-0.01'`` (N(0, 0.01), bias 0:
            its VGG and MobileNetV2, also mmpretrain's default).
    """
    backbone: dict
    feat_dim: int
    classifier: str
    renames: Tuple[Tuple[str, str], ...] = ()
    params: Optional[int] = None
    config: Optional[str] = None
    head_init: str = 'torch'


#: ``head.init_cfg`` of an mmpretrain ``LinearClsHead`` that initialises its
#: ``fc`` as the reference does (None: keep nn.Linear's own init).
HEAD_INIT_CFGS = {
    'torch': None,
    'torch-zero-bias': dict(type='Kaiming', layer='Linear', a=5**0.5,
                            mode='fan_in', nonlinearity='leaky_relu',
                            distribution='uniform', bias=0),
    'normal-0.01': dict(type='Normal', layer='Linear', std=0.01),
}


def _cifar_resnet(depth: int, x4: bool = False,
                  params: Optional[int] = None) -> ArchSpec:
    filters = (32, 64, 128, 256) if x4 else (16, 16, 32, 64)
    return ArchSpec(
        dict(type='CifarResNet', depth=depth, num_filters=filters),
        filters[3], 'fc', params=params,
        config=('`CifarResNet(depth, num_filters=(32, 64, 128, 256))`'
                if x4 else '`CifarResNet(depth)`'))


def _wrn(depth: int, widen_factor: int,
         params: Optional[int] = None) -> ArchSpec:
    return ArchSpec(
        dict(type='CifarWideResNet', depth=depth, widen_factor=widen_factor),
        64 * widen_factor, 'fc', params=params,
        config='`CifarWideResNet(depth, widen_factor)`',
        head_init='torch-zero-bias')


def _vgg(depth: int, params: Optional[int] = None) -> ArchSpec:
    return ArchSpec(dict(type='CifarVGG', depth=depth), 512, 'classifier',
                    params=params, config='`CifarVGG(depth)`',
                    head_init='normal-0.01')


_RESNET_PARAMS = {20: 278_324, 32: 472_756, 56: 861_620, 110: 1_736_564}

#: The RepDistiller ``models.model_dict`` names (as in its checkpoint
#: folders, e.g. ``resnet32x4_vanilla``), with 100-class CIFAR heads.
REPDISTILLER_ARCHS: Dict[str, ArchSpec] = {
    **{f'resnet{d}': _cifar_resnet(d, params=_RESNET_PARAMS.get(d))
       for d in (8, 14, 20, 32, 44, 56, 110)},
    'resnet8x4': _cifar_resnet(8, x4=True, params=1_233_540),
    'resnet32x4': _cifar_resnet(32, x4=True, params=7_433_860),
    # The 4-stage "ResNet50" of RepDistiller's models/resnetv2.py is
    # mmpretrain's ResNet_CIFAR layer for layer; only the shortcut's name
    # differs.
    'ResNet50': ArchSpec(
        dict(type='ResNet_CIFAR', depth=50, out_indices=(3, )), 2048,
        'linear', (('.shortcut.', '.downsample.'), ), params=23_705_252,
        config='mmpretrain `ResNet_CIFAR(depth=50)`'),
    'wrn_16_1': _wrn(16, 1),
    'wrn_16_2': _wrn(16, 2, params=703_284),
    'wrn_40_1': _wrn(40, 1, params=569_780),
    'wrn_40_2': _wrn(40, 2, params=2_255_156),
    **{f'vgg{d}': _vgg(d, params={8: 3_965_028, 13: 9_462_180}.get(d))
       for d in (8, 11, 13, 16, 19)},
    'MobileNetV2': ArchSpec(
        dict(type='CifarMobileNetV2', width_mult=0.5), 1280, 'classifier.0',
        params=812_836, config='`CifarMobileNetV2(width_mult=0.5)`',
        head_init='normal-0.01'),
    # 100 classes; the reference constructor's default of 10 gives 862,768.
    'ShuffleV1': ArchSpec(dict(type='CifarShuffleNetV1'), 960, 'linear',
                          params=949_258, config='`CifarShuffleNetV1()`'),
    'ShuffleV2': ArchSpec(dict(type='CifarShuffleNetV2'), 1024, 'linear',
                          params=1_355_528, config='`CifarShuffleNetV2()`'),
}

#: torchvision ``resnetXX`` -> mmpretrain ``ResNet``: the same names.
TORCHVISION_ARCHS: Dict[str, ArchSpec] = {
    f'resnet{d}': ArchSpec(
        dict(type='ResNet', depth=d, num_stages=4, out_indices=(3, ),
             style='pytorch'), 512 if d < 50 else 2048, 'fc',
        config=f'mmpretrain `ResNet(depth={d})`')
    for d in (18, 34, 50, 101, 152)
}

#: The ImageNet student of PEFD's ``MobileNet.py`` (1000 classes).
MOBILENET_V1 = ArchSpec(dict(type='MobileNetV1'), 1024, 'fc',
                        params=4_231_976, config='`MobileNetV1()`')


class CifarPair(NamedTuple):
    """A CIFAR-100 pair of the paper, its config and the baselines it is
    compared with (top-1 %, RepDistiller's README: CRD, ICLR 2020)."""
    config: str  # under configs/projkd/cifar100/
    teacher: str  # a key of REPDISTILLER_ARCHS
    student: str
    lr: float
    teacher_top1: float
    student_top1: float
    kd: float
    fitnet: float
    crd: float


CIFAR100_PAIRS: Tuple[CifarPair, ...] = (
    CifarPair('pefd_wrn-40-2_wrn-16-2_240e_cifar100.py', 'wrn_40_2',
              'wrn_16_2', 0.05, 75.61, 73.26, 74.92, 73.58, 75.48),
    CifarPair('pefd_wrn-40-2_wrn-40-1_240e_cifar100.py', 'wrn_40_2',
              'wrn_40_1', 0.05, 75.61, 71.98, 73.54, 72.24, 74.14),
    CifarPair('pefd_resnet56_resnet20_240e_cifar100.py', 'resnet56',
              'resnet20', 0.05, 72.34, 69.06, 70.66, 69.21, 71.16),
    CifarPair('pefd_resnet110_resnet32_240e_cifar100.py', 'resnet110',
              'resnet32', 0.05, 74.31, 71.14, 73.08, 71.06, 73.48),
    CifarPair('pefd_resnet32x4_resnet8x4_240e_cifar100.py', 'resnet32x4',
              'resnet8x4', 0.05, 79.42, 72.50, 73.33, 73.50, 75.51),
    CifarPair('pefd_vgg13_vgg8_240e_cifar100.py', 'vgg13', 'vgg8', 0.05,
              74.64, 70.36, 72.98, 71.02, 73.94),
    CifarPair('pefd_resnet50_mobilenet-v2_240e_cifar100.py', 'ResNet50',
              'MobileNetV2', 0.01, 79.34, 64.60, 67.35, 63.16, 69.11),
    CifarPair('pefd_resnet32x4_shufflenet-v1_240e_cifar100.py', 'resnet32x4',
              'ShuffleV1', 0.01, 79.42, 70.50, 74.07, 73.59, 75.11),
    CifarPair('pefd_resnet32x4_shufflenet-v2_240e_cifar100.py', 'resnet32x4',
              'ShuffleV2', 0.01, 79.42, 71.82, 74.45, 73.54, 75.65),
    CifarPair('pefd_wrn-40-2_shufflenet-v1_240e_cifar100.py', 'wrn_40_2',
              'ShuffleV1', 0.01, 75.61, 70.50, 74.83, 73.73, 76.05),
    CifarPair('pefd_vgg13_mobilenet-v2_240e_cifar100.py', 'vgg13',
              'MobileNetV2', 0.01, 74.64, 64.60, 67.37, 64.14, 69.73),
)


class ImagenetPair(NamedTuple):
    """An ImageNet-1k pair of the paper and published top-1 anchors."""
    configs: str  # under configs/projkd/imagenet/, with {variants}
    config: str  # the ensemble (q=3) config of those
    teacher: str  # display name
    student: str
    student_dim: int
    teacher_dim: int
    anchors: str


IMAGENET_PAIRS: Tuple[ImagenetPair, ...] = (
    ImagenetPair(
        '{pefd,pefd-q1,pefd-noproj,kd}_resnet34_resnet18_100e_in1k.py',
        'pefd_resnet34_resnet18_100e_in1k.py', 'ResNet34', 'ResNet18', 512,
        512, 'KD 71.03-71.81, DKD 71.37-71.70, DIST 71.61'),
    ImagenetPair(
        '{pefd,pefd-q1,kd}_resnet50_mobilenet-v1_100e_in1k.py',
        'pefd_resnet50_mobilenet-v1_100e_in1k.py', 'ResNet50', 'MobileNetV1',
        1024, 2048, 'KD 70.50, DKD 72.05, DOT 73.09'),
)


def cifar_pair(teacher: str, student: str) -> CifarPair:
    """The CIFAR-100 pair of these two architectures."""
    for pair in CIFAR100_PAIRS:
        if (pair.teacher, pair.student) == (teacher, student):
            return pair
    raise KeyError(f'No CIFAR-100 pair {teacher} -> {student}.')


def imagenet_pair(teacher: str, student: str) -> ImagenetPair:
    """The ImageNet pair of these two architectures (display names)."""
    for pair in IMAGENET_PAIRS:
        if (pair.teacher, pair.student) == (teacher, student):
            return pair
    raise KeyError(f'No ImageNet pair {teacher} -> {student}.')


def _dims(pair: CifarPair) -> str:
    return (f'{REPDISTILLER_ARCHS[pair.student].feat_dim} -> '
            f'{REPDISTILLER_ARCHS[pair.teacher].feat_dim}')


def _markdown(header: Tuple[str, ...], rows) -> str:
    """A markdown table: the header, its rule, one line per row."""
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(map(str, row)) + ' |' for row in rows]
    return '\n'.join(lines)


def cifar_pairs_table() -> str:
    """docs/model_zoo.md: the CIFAR-100 pairs."""
    return _markdown(
        ('config (`configs/projkd/cifar100/`)', 'teacher -> student',
         'feature dims (student -> teacher)', 'lr', 'teacher', 'student',
         'KD', 'FitNet', 'CRD'),
        [(f'`{p.config}`', f'{p.teacher} -> {p.student}', _dims(p), p.lr,
          *(f'{v:.2f}' for v in p[4:])) for p in CIFAR100_PAIRS])


def imagenet_pairs_table() -> str:
    """docs/model_zoo.md: the ImageNet pairs."""
    return _markdown(
        ('config (`configs/projkd/imagenet/`)', 'teacher -> student',
         'feature dims',
         'teacher checkpoint', 'top-1 anchors'),
        [(f'`{p.configs}`', f'{p.teacher} -> {p.student}',
          f'{p.student_dim} -> {p.teacher_dim}',
          f'mmpretrain zoo {p.teacher} (URL in the config)', p.anchors)
         for p in IMAGENET_PAIRS])


def archs_table() -> str:
    """docs/model_zoo.md: the architectures of the pairs."""
    used = {name for p in CIFAR100_PAIRS for name in (p.teacher, p.student)}
    archs = [(name, spec) for name, spec in REPDISTILLER_ARCHS.items()
             if name in used]
    archs.append(('MobileNet (ImageNet, PEFD `MobileNet.py`)', MOBILENET_V1))
    return _markdown(
        ('zoo name', 'backbone config', 'params', 'feature'),
        [(name, spec.config, f'{spec.params:,}', spec.feat_dim)
         for name, spec in archs])


def readme_pairs_table() -> str:
    """README.md: every pair of the paper."""
    return _markdown(
        ('teacher -> student', 'feature dims (student -> teacher)', 'config',
         'teacher / student / KD / CRD top-1 (reference)'),
        [(f'{p.teacher} -> {p.student}', _dims(p), f'`cifar100/{p.config}`',
          ' / '.join(f'{v:.2f}' for v in (p.teacher_top1, p.student_top1,
                                          p.kd, p.crd)))
         for p in CIFAR100_PAIRS] +
        [(f'{p.teacher} -> {p.student}', f'{p.student_dim} -> '
          f'{p.teacher_dim}', f'`imagenet/{p.configs}`', p.anchors)
         for p in IMAGENET_PAIRS])


if __name__ == '__main__':
    for title, table in (('docs/model_zoo.md: CIFAR-100 pairs',
                          cifar_pairs_table()),
                         ('docs/model_zoo.md: ImageNet pairs',
                          imagenet_pairs_table()),
                         ('docs/model_zoo.md: architectures', archs_table()),
                         ('README.md: pairs', readme_pairs_table())):
        print(f'<!-- {title} -->\n{table}\n')
