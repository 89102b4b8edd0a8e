"""Where each mmpretrain family's penultimate feature lives.

PEFD distils the penultimate feature: the vector the classifier head
consumes. Which module returns it depends on the family: the
``GlobalAveragePooling`` neck for the CNNs and Swin, the backbone itself
for ConvNeXt (it pools before its final norm, ``gap_before_final_norm``)
and for ViT/DeiT (``out_type='cls_token'``: the class token after the
final norm, which ``VisionTransformerClsHead`` takes as is). In every
family of :data:`FAMILIES` that module returns a 1-tuple, so the tensor is
``data_idx=0``, and the feature is ``(N, C)``; any teacher family can
therefore be paired with any student family (checked, pair by pair, by
``tests/test_any_pair.py``).

Two ways to use the table:

- **Configs** inherit one base per family, ``configs/_base_/families/
  <family>.py``, each defining ``<family>_recorder``, and set the
  recorders of ``configs/_base_/models/pefd_distill.py`` from them
  (``configs/projkd/imagenet/pefd_convnext-tiny_resnet18_100e_in1k.py``)::

      _base_ = ['../../_base_/recipes/pefd_100e_in1k.py',
                '../../_base_/families/convnext.py',
                '../../_base_/families/resnet.py']
      model = dict(
          architecture=..., teacher=...,  # the two classifiers
          # the recipe's input_size: the projector widths are inferred
          distiller=dict(
              teacher_recorders=dict(feat=_base_.convnext_recorder),
              student_recorders=dict(feat=_base_.resnet_recorder),
              connectors=dict(projector=dict(in_channels=None,
                                             out_channels=None))))

- **Python** (tests, notebooks, scripts building a Config):
  :func:`recorder_for`, :func:`pefd_distiller` and :func:`pefd_pair`,
  which finds the families from the models' backbone types::

      cfg = Config.fromfile('configs/_base_/models/pefd_distill.py')
      cfg.merge_from_dict(dict(model=pefd_pair(
          teacher=standard_model('convnext'),
          student=standard_model('mobilenetv3'))))

The widths are left to ``CheckedSingleTeacherDistill``, which infers them
from one dry forward pass on ``model.input_size`` and logs them
(``projector: 192 -> 2048, 3 members (inferred ...)``).
"""
import copy
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple, Union

__all__ = [
    'Family', 'UnknownFamilyError', 'FAMILIES', 'ALIASES', 'family',
    'family_of', 'recorder_for', 'standard_model', 'tiny_model',
    'pefd_distiller', 'pefd_pair', 'families_table'
]

_GAP = dict(type='GlobalAveragePooling')


class UnknownFamilyError(KeyError):
    """A family name or backbone type that :data:`FAMILIES` lacks."""

    def __str__(self) -> str:  # the message, not KeyError's repr of it
        return str(self.args[0]) if self.args else ''


def _classifier(backbone: dict, width: int, num_classes: int,
                neck: bool = True, head: Optional[dict] = None) -> dict:
    """An mmpretrain ``ImageClassifier`` dict (scope set for mmrazor)."""
    model = dict(_scope_='mmpretrain', type='ImageClassifier',
                 backbone=backbone)
    if neck:
        model['neck'] = dict(_GAP)
    model['head'] = head or dict(type='LinearClsHead',
                                 num_classes=num_classes, in_channels=width)
    return model


@dataclass(frozen=True)
class Family:
    """One mmpretrain model family and where its penultimate feature is.

    Attributes:
        name: Short name, also the base config's file name
            (``configs/_base_/families/<name>.py``) and the prefix of its
            variable (``<name>_recorder``).
        title: Display name.
        backbones: The mmpretrain backbone types of the family.
        source: The recorder's source: the module whose output is the
            feature the classifier head consumes.
        data_idx: Index of the feature in that module's output.
        layout: The recorded feature's layout.
        standard: The standard zoo arch, for the width below.
        width: Feature width of ``standard`` (at 224x224).
        others: Widths of other archs of the family.
        note: Anything a user should know.
        standard_cfg: mmpretrain model dict of ``standard`` (1000
            classes, 224x224), as mmpretrain's zoo configs build it.
        tiny_cfg: A tiny instance of the family (3x32x32 inputs, 10
            classes) for tests.
        tiny_width: Feature width of ``tiny_cfg``.
    """
    name: str
    title: str
    backbones: Tuple[str, ...]
    source: str
    data_idx: int
    layout: str
    standard: str
    width: int
    others: str
    note: str
    standard_cfg: dict = field(repr=False)
    tiny_cfg: dict = field(repr=False)
    tiny_width: int = 0

    @property
    def base_variable(self) -> str:
        """The variable of ``configs/_base_/families/<name>.py``."""
        return f'{self.name}_recorder'

    @property
    def base_config(self) -> str:
        """The family's base config, relative to the repository root."""
        return f'configs/_base_/families/{self.name}.py'


def _families() -> Dict[str, Family]:
    tiny_resnet = dict(depth=18, stem_channels=8, base_channels=8)
    table = [
        Family(
            'resnet', 'ResNet', ('ResNet', 'ResNetV1c'), 'neck', 0, '(N, C)',
            'ResNet-50', 2048, 'ResNet-18/34: 512, -101/152: 2048',
            'ResNetV1c (deep stem) is recorded the same way.',
            _classifier(dict(type='ResNet', depth=50), 2048, 1000),
            _classifier(dict(type='ResNet', **tiny_resnet), 64, 10), 64),
        Family(
            'resnetv1d', 'ResNetV1d (ResNet-D)', ('ResNetV1d', ), 'neck', 0,
            '(N, C)', 'ResNetV1d-50', 2048, 'ResNetV1d-18/34: 512', '',
            _classifier(dict(type='ResNetV1d', depth=50), 2048, 1000),
            _classifier(dict(type='ResNetV1d', **tiny_resnet), 64, 10), 64),
        Family(
            'mobilenetv2', 'MobileNetV2', ('MobileNetV2', ), 'neck', 0,
            '(N, C)', 'MobileNetV2 1.0x', 1280,
            'any widen_factor <= 1: 1280', '',
            _classifier(dict(type='MobileNetV2', widen_factor=1.0), 1280,
                        1000),
            _classifier(dict(type='MobileNetV2', widen_factor=0.25), 1280,
                        10), 1280),
        Family(
            'mobilenetv3', 'MobileNetV3', ('MobileNetV3', ), 'neck', 0,
            '(N, C)', 'MobileNetV3-Small', 576, 'Large: 960',
            'The head (StackedLinearClsHead) takes the pooled '
            'neck output and has its own hidden layer (1024 / 1280, after '
            'HSwish and dropout); to distil that one instead, record '
            "source='head.layers.0'.",
            _classifier(dict(type='MobileNetV3', arch='small'), 576, 1000,
                        head=dict(type='StackedLinearClsHead',
                                  num_classes=1000, in_channels=576,
                                  mid_channels=[1024], dropout_rate=0.2,
                                  act_cfg=dict(type='HSwish'))),
            _classifier(dict(type='MobileNetV3', arch='small_050'), 288, 10,
                        head=dict(type='StackedLinearClsHead',
                                  num_classes=10, in_channels=288,
                                  mid_channels=[32],
                                  act_cfg=dict(type='HSwish'))), 288),
        Family(
            'efficientnet', 'EfficientNet', ('EfficientNet', ), 'neck', 0,
            '(N, C)', 'EfficientNet-B0', 1280,
            'B1: 1280, B2: 1408, B3: 1536', '',
            _classifier(dict(type='EfficientNet', arch='b0'), 1280, 1000),
            # The smallest arch mmpretrain has (no width argument).
            _classifier(dict(type='EfficientNet', arch='b0'), 1280, 10),
            1280),
        Family(
            'regnet', 'RegNet', ('RegNet', ), 'neck', 0, '(N, C)',
            'RegNetX-400MF', 384, 'RegNetX-800MF: 672, -1.6GF: 912', '',
            _classifier(dict(type='RegNet', arch='regnetx_400mf'), 384,
                        1000),
            _classifier(dict(type='RegNet', stem_channels=8,
                             arch=dict(w0=8, wa=12.0, wm=1.5, group_w=8,
                                       depth=4, bot_mul=1.0)), 40, 10),
            40),
        Family(
            'convnext', 'ConvNeXt', ('ConvNeXt', ), 'backbone', 0, '(N, C)',
            'ConvNeXt-T', 768, 'ConvNeXt-S: 768, -B: 1024',
            'No neck: the backbone pools before its final norm '
            '(gap_before_final_norm=True, the default) and returns the '
            'normed (N, C) vector.',
            _classifier(dict(type='ConvNeXt', arch='tiny'), 768, 1000,
                        neck=False),
            _classifier(dict(type='ConvNeXt',
                             arch=dict(depths=[1, 1, 1, 1],
                                       channels=[8, 16, 32, 48])), 48, 10,
                        neck=False), 48),
        Family(
            'vit', 'VisionTransformer (ViT, DeiT)', ('VisionTransformer', ),
            'backbone', 0, '(N, C)', 'ViT-B/16', 768,
            'DeiT-T: 192, DeiT-S: 384, ViT-L: 1024',
            "No neck: with out_type='cls_token' (the default) the backbone "
            'returns the class token after the final norm, which '
            'VisionTransformerClsHead takes as is. Distilled DeiT '
            '(DistilledVisionTransformer) returns (cls, dist) token pairs '
            'instead: not covered.',
            _classifier(dict(type='VisionTransformer', arch='b',
                             img_size=224, patch_size=16), 768, 1000,
                        neck=False,
                        head=dict(type='VisionTransformerClsHead',
                                  num_classes=1000, in_channels=768)),
            _classifier(dict(type='VisionTransformer', img_size=32,
                             patch_size=8,
                             arch=dict(embed_dims=32, num_layers=1,
                                       num_heads=2,
                                       feedforward_channels=64)), 32, 10,
                        neck=False,
                        head=dict(type='VisionTransformerClsHead',
                                  num_classes=10, in_channels=32)), 32),
        Family(
            'swin', 'SwinTransformer', ('SwinTransformer', ), 'neck', 0,
            '(N, C)', 'Swin-T', 768, 'Swin-S: 768, -B: 1024',
            'The backbone returns the normed last-stage map (N, C, 7, 7) '
            'and the GlobalAveragePooling neck pools it.',
            _classifier(dict(type='SwinTransformer', arch='tiny',
                             img_size=224), 768, 1000),
            # 32x32 with 2x2 patches: 16, 8, 4, 2 tokens a side, each a
            # multiple of the 2x2 window.
            _classifier(dict(type='SwinTransformer', img_size=32,
                             patch_size=2, window_size=2,
                             arch=dict(embed_dims=8, depths=[1, 1, 1, 1],
                                       num_heads=[1, 1, 1, 1])), 64, 10),
            64),
    ]
    return {f.name: f for f in table}


#: The families, by name.
FAMILIES: Dict[str, Family] = _families()

#: Other names :func:`family` accepts.
ALIASES: Dict[str, str] = {
    'resnet-d': 'resnetv1d', 'resnetv1c': 'resnet', 'mobilenet_v2':
    'mobilenetv2', 'mobilenet_v3': 'mobilenetv3', 'deit': 'vit',
    'visiontransformer': 'vit', 'swintransformer': 'swin'
}

FamilyLike = Union[str, Family]


def family(name: FamilyLike) -> Family:
    """The family called ``name`` (case-insensitive; aliases such as
    ``'deit'`` or ``'resnet-d'`` accepted)."""
    if isinstance(name, Family):
        return name
    key = str(name).lower()
    key = ALIASES.get(key, key)
    if key not in FAMILIES:
        raise UnknownFamilyError(
            f'Unknown model family {name!r}. Known: '
            f'{", ".join(FAMILIES)} (aliases: {", ".join(ALIASES)}). For '
            'another model, set the recorders yourself: '
            "dict(type='ModuleOutputs', source=<module whose output the "
            "head consumes>), see docs/custom_pair.md.")
    return FAMILIES[key]


def family_of(model: dict) -> Family:
    """The family of an mmpretrain ``ImageClassifier`` dict, from its
    backbone type."""
    backbone = (model or {}).get('backbone') or {}
    kind = str(backbone.get('type', '')).split('.')[-1]
    for fam in FAMILIES.values():
        if kind in fam.backbones:
            return fam
    known = sorted(b for f in FAMILIES.values() for b in f.backbones)
    raise UnknownFamilyError(
        f'No family for backbone type {kind or None!r}: the families know '
        f'{", ".join(known)}. Pass teacher_family=/student_family= to '
        'name one whose feature sits in the same place, or set the '
        'recorders yourself (docs/custom_pair.md).')


def recorder_for(name: FamilyLike) -> dict:
    """The recorder of the family's penultimate feature, e.g.
    ``dict(type='ModuleOutputs', source='neck')``."""
    return dict(type='ModuleOutputs', source=family(name).source)


def standard_model(name: FamilyLike) -> dict:
    """A copy of the family's standard zoo model dict (1000 classes)."""
    return copy.deepcopy(family(name).standard_cfg)


def tiny_model(name: FamilyLike, num_classes: int = 10) -> dict:
    """A copy of the family's tiny test model (3x32x32 inputs)."""
    model = copy.deepcopy(family(name).tiny_cfg)
    model['head']['num_classes'] = num_classes
    return model


def pefd_distiller(teacher_family: FamilyLike,
                   student_family: FamilyLike) -> dict:
    """Overrides of ``configs/_base_/models/pefd_distill.py``'s
    ``model.distiller`` for this pair: both recorders, both ``data_idx``
    and the projector's widths cleared (``None``: inferred from
    ``model.input_size``)."""
    teacher, student = family(teacher_family), family(student_family)
    return dict(
        student_recorders=dict(feat=recorder_for(student)),
        teacher_recorders=dict(feat=recorder_for(teacher)),
        connectors=dict(projector=dict(in_channels=None,
                                       out_channels=None)),
        loss_forward_mappings=dict(loss_pefd=dict(
            s_feature=dict(data_idx=student.data_idx),
            t_feature=dict(data_idx=teacher.data_idx))))


def pefd_pair(teacher: dict,
              student: dict,
              teacher_family: Optional[FamilyLike] = None,
              student_family: Optional[FamilyLike] = None,
              input_size: Sequence[int] = (3, 224, 224)) -> dict:
    """Overrides of ``model`` in ``configs/_base_/models/pefd_distill.py``
    for any two mmpretrain classifiers: the two models, their recorders
    (:func:`pefd_distiller`) and ``input_size`` for width inference::

        cfg = Config.fromfile('configs/_base_/models/pefd_distill.py')
        cfg.merge_from_dict(dict(model=pefd_pair(teacher=t, student=s)))

    MMEngine merges dicts key by key, so merged into a config that already
    has models (e.g. ``configs/projkd/imagenet/
    pefd_resnet34_resnet18_100e_in1k.py``) the new models would be mixed
    with the old ones: there, assign them
    (``cfg.model.teacher = t``, ``cfg.model.architecture = s``) and merge
    ``dict(model=dict(input_size=..., distiller=pefd_distiller(...)))``.

    Args:
        teacher (dict): The teacher's ``ImageClassifier`` dict.
        student (dict): The student's ``ImageClassifier`` dict.
        teacher_family, student_family: Family names; found from the
            backbone types (:func:`family_of`) when left out.
        input_size: Shape of one input, for the dry run that infers the
            projector widths. Defaults to ``(3, 224, 224)``.
    """
    models = {}
    for key, model in (('teacher', teacher), ('architecture', student)):
        model = copy.deepcopy(dict(model))
        model.setdefault('_scope_', 'mmpretrain')
        models[key] = model
    return dict(
        **models,
        input_size=tuple(input_size),
        distiller=pefd_distiller(teacher_family or family_of(teacher),
                                 student_family or family_of(student)))


def families_table() -> str:
    """The markdown table of docs/custom_pair.md."""
    lines = ['| family | recorder `source` | `data_idx` | feature at '
             '224x224 | other archs | base config (`configs/`) |',
             '|---|---|---|---|---|---|']
    for f in FAMILIES.values():
        lines.append(f'| {f.title} | `{f.source}` | {f.data_idx} | '
                     f'{f.standard}: (N, {f.width}) | {f.others} | '
                     f'`_base_/families/{f.name}.py` |')
    return '\n'.join(lines)


if __name__ == '__main__':
    print(families_table())
