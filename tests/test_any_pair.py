"""Any mmpretrain teacher with any student: every ordered pair of the
families of :mod:`projkd_mm.families` builds through the registries from a
config that inherits the families' base configs, with the projector
widths inferred, and trains one real step.

Tiny real mmpretrain models (3x32x32 inputs, 10 classes), random teachers.
"""
import copy
import itertools
import os
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as CLS_MODELS
from mmpretrain.structures import DataSample
from mmrazor.models.task_modules import RecorderManager

from projkd_mm.families import (
    FAMILIES,
    UnknownFamilyError,
    families_table,
    family,
    family_of,
    pefd_distiller,
    pefd_pair,
    recorder_for,
    standard_model,
    tiny_model,
)
from projkd_mm.utils.build import build_model

BASE = osp.join(REPO, 'configs', '_base_')
PEFD_BASE = osp.join(BASE, 'models', 'pefd_distill.py')
# (teacher, student): all ordered pairs, same-family ones included.
PAIRS = list(itertools.product(FAMILIES, repeat=2))
INPUT_SIZE = (3, 32, 32)


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Models this small gain nothing from threads, and on a busy machine
    every parallel op of a second thread waits for a core (EfficientNet's
    step: ~10 s with 2 threads, ~0.1 s with one)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pair_config(teacher: str, student: str) -> Config:
    """A PEFD config for the tiny pair, written as a user writes one: the
    shared distiller, the two families' bases, their recorders from
    ``_base_``, no projector widths, ``model.input_size``."""
    t, s = family(teacher), family(student)
    bases = [PEFD_BASE] + sorted({
        osp.join(REPO, t.base_config),
        osp.join(REPO, s.base_config)
    })
    text = f'''_base_ = {bases!r}
data_preprocessor = dict(
    type='mmpretrain.ClsDataPreprocessor', num_classes=10,
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
    to_rgb=True)
model = dict(
    input_size={INPUT_SIZE!r},
    architecture={tiny_model(student)!r},
    teacher={tiny_model(teacher)!r},
    distiller=dict(
        student_recorders=dict(feat=_base_.{s.base_variable}),
        teacher_recorders=dict(feat=_base_.{t.base_variable})))
'''
    return Config.fromstring(text, '.py')


def batch(n: int = 4, seed: int = 0) -> dict:
    """A batch as the dataloader hands it to ``train_step``."""
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, INPUT_SIZE, dtype=torch.uint8,
                            generator=g) for _ in range(n)]
    samples = [DataSample().set_gt_label(i % 10) for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('teacher,student', PAIRS,
                         ids=[f'{t}->{s}' for t, s in PAIRS])
def test_any_pair_infers_widths_and_trains_one_step(teacher, student):
    torch.manual_seed(0)
    cfg = pair_config(teacher, student)
    # The helpers give what the base configs give.
    by_helper = Config.fromfile(PEFD_BASE)
    by_helper.merge_from_dict(dict(model=pefd_pair(
        teacher=tiny_model(teacher), student=tiny_model(student),
        input_size=INPUT_SIZE)))
    for key in ('architecture', 'teacher', 'input_size'):
        assert by_helper.model[key] == cfg.model[key], key
    for key in ('student_recorders', 'teacher_recorders',
                'loss_forward_mappings'):
        assert by_helper.model.distiller[key] == cfg.model.distiller[key]
    for key in ('in_channels', 'out_channels'):  # left to the dry run
        assert by_helper.model.distiller.connectors.projector[key] is None
        assert cfg.model.distiller.connectors.projector.get(key) is None

    model = build_model(cfg, teacher_ckpt=None, allow_random_teacher=True)
    projector = model.distiller.connectors['projector']
    # Widths inferred by the dry run: the table's, student -> teacher.
    assert (projector.in_channels, projector.out_channels) == (
        family(student).tiny_width, family(teacher).tiny_width)

    model.train()
    wrapper = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.01))
    wrapper.zero_grad = lambda *args, **kwargs: None  # keep them to look at
    before = {k: p.detach().clone() for k, p in model.named_parameters()}
    log_vars = model.train_step(batch(), wrapper)
    for key in ('loss', 'distill.loss_pefd', 'student.loss'):
        assert torch.isfinite(log_vars[key]), (key, log_vars)
    assert log_vars['distill.loss_pefd'] > 0

    named = dict(model.named_parameters())
    # The frozen teacher: no gradient, unchanged.
    for name, p in model.teacher.named_parameters():
        assert not p.requires_grad and p.grad is None, name
        assert torch.equal(p, before[f'teacher.{name}']), name
    # The projectors and the student learn.
    for name in ('weight', 'bias'):
        p = getattr(projector, name)
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
        key = f'distiller.connectors.projector.{name}'
        assert not torch.equal(named[key], before[key]), name
    student = dict(model.student.named_parameters())
    no_grad = [n for n, p in student.items()
               if p.requires_grad and p.grad is None]
    assert not no_grad, f'student parameters without a gradient: {no_grad}'
    assert all(torch.isfinite(p.grad).all() for p in student.values()
               if p.grad is not None)

    # The distillation term alone reaches the student's backbone, not its
    # head: the recorded feature is the one before the classifier.
    model.zero_grad(set_to_none=True)
    data = model.data_preprocessor(batch(seed=1), training=True)
    losses = model(data['inputs'], data['data_samples'], mode='loss')
    losses['distill.loss_pefd'].backward()
    backbone = [p.grad for n, p in student.items() if n.startswith('backbone')]
    assert any(g is not None and g.abs().sum() > 0 for g in backbone)
    head = {n: p.grad for n, p in student.items() if n.startswith('head.')}
    assert head and all(g is None for g in head.values()), head.keys()


@pytest.mark.parametrize('name', FAMILIES)
def test_family_base_config_is_the_table(name):
    fam = FAMILIES[name]
    cfg = Config.fromfile(osp.join(REPO, fam.base_config))
    assert cfg.to_dict() == {fam.base_variable: recorder_for(name)}
    # Every feature is the first tensor of its module's output, which is
    # what the shared distiller's mappings read.
    mappings = Config.fromfile(PEFD_BASE).model.distiller.\
        loss_forward_mappings.loss_pefd
    assert fam.data_idx == mappings.s_feature.data_idx == \
        mappings.t_feature.data_idx == 0


def test_every_family_base_config_is_in_the_table():
    on_disk = sorted(
        osp.splitext(p)[0]
        for p in os.listdir(osp.join(BASE, 'families')))
    assert on_disk == sorted(FAMILIES)


@pytest.mark.parametrize('name', FAMILIES)
def test_tiny_instance_records_the_feature_the_head_consumes(name):
    """On the real mmpretrain model: the recorded tensor is the input of
    the head's classifier (or of its first layer), with the table's
    width."""
    fam = FAMILIES[name]
    model = CLS_MODELS.build(tiny_model(name))
    model.eval()
    # mmrazor's recorder registry, whatever scope earlier tests left set.
    with DefaultScope.overwrite_default_scope('mmrazor'):
        recorders = RecorderManager(dict(feat=recorder_for(name)))
    recorders.initialize(model)
    x = torch.randn(2, *INPUT_SIZE)
    with recorders, torch.no_grad():
        feats = model.extract_feat(x)
    feature = recorders.get_recorder('feat').get_record_data(
        0, fam.data_idx)
    assert feature.shape == (2, fam.tiny_width)
    torch.testing.assert_close(feature, feats[-1])
    assert family_of(fam.tiny_cfg) is fam
    assert family_of(fam.standard_cfg) is fam
    assert fam.standard_cfg['head']['in_channels'] == fam.width


def test_names_aliases_and_errors():
    assert family('DeiT') is family('vit') is FAMILIES['vit']
    assert family('resnet-d').name == 'resnetv1d'
    assert family_of(dict(backbone=dict(type='mmpretrain.ResNetV1c'))) is \
        FAMILIES['resnet']
    with pytest.raises(UnknownFamilyError, match='Known: resnet'):
        family('lenet')
    with pytest.raises(UnknownFamilyError, match='teacher_family='):
        family_of(dict(backbone=dict(type='LeNet5')))
    # Families named explicitly override the backbone types.
    overrides = pefd_pair(teacher=dict(backbone=dict(type='MyNet')),
                          student=standard_model('resnet'),
                          teacher_family='convnext')
    assert overrides['distiller'] == pefd_distiller('convnext', 'resnet')
    assert overrides['distiller']['teacher_recorders']['feat'] == dict(
        type='ModuleOutputs', source='backbone')
    # The helpers hand out copies.
    tiny_model('vit')['backbone']['img_size'] = 64
    assert FAMILIES['vit'].tiny_cfg['backbone']['img_size'] == 32
    assert copy.deepcopy(FAMILIES['vit']) == FAMILIES['vit']


def test_docs_show_the_table():
    with open(osp.join(REPO, 'docs', 'custom_pair.md')) as f:
        assert families_table() in f.read(), (
            'docs/custom_pair.md is out of date: paste the output of '
            '`python -m projkd_mm.families`')
