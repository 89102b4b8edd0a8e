"""Projector widths inferred by a dry run at build time, layouts and
intermediate stages (real mmpretrain models, the real distiller)."""
import logging

import pytest
import torch
import torch.nn.functional as F
from conftest import FMNIST_DIR, PEFD_FMNIST
from conftest import fmnist_batch as batch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper

from projkd_mm.models.algorithms.width_inference import WidthInferenceError
from projkd_mm.models.losses import FeatureMSELoss
from projkd_mm.utils.build import build_model

STAGE = f'{FMNIST_DIR}/pefd-stage2_resnet20s2_resnet8s2_5e_fmnist.py'
NARROW = f'{FMNIST_DIR}/pefd_resnet20s2_resnet8s2w32_5e_fmnist.py'


def config(path=PEFD_FMNIST, **model):
    cfg = Config.fromfile(path)
    cfg.model.update(model)
    return cfg


def build(cfg, **overrides):
    return build_model(cfg, teacher_ckpt=None, allow_random_teacher=True,
                       **overrides)


def without_widths(cfg, name='projector'):
    cfg.model.distiller.connectors[name].update(in_channels=None,
                                                out_channels=None)
    return cfg


def test_left_out_widths_are_inferred_and_logged():
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        model = build(without_widths(config(NARROW)))
    finally:
        logger.removeHandler(handler)
    projector = model.distiller.connectors.projector
    assert (projector.in_channels, projector.out_channels) == (32, 64)
    assert projector.weight.shape == (3, 64, 32)
    assert 'projector: 32 -> 64, 3 members (inferred by a dry run on ' \
        'input_size=(1, 28, 28))' in lines


def test_the_dry_run_changes_nothing_a_run_depends_on():
    cfg = config()  # explicit widths: checked, not inferred
    torch.manual_seed(3)
    checked = build(cfg)
    rng_checked = torch.random.get_rng_state()
    torch.manual_seed(3)
    plain = build(config(input_size=None))
    rng_plain = torch.random.get_rng_state()
    # Same global RNG stream, same weights and BatchNorm statistics, same
    # train/eval flags as a build without the dry run.
    assert torch.equal(rng_checked, rng_plain)
    a, b = checked.state_dict(), plain.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [m.training for m in checked.modules()] == \
        [m.training for m in plain.modules()]


def test_inferred_projectors_train_like_given_ones():
    model = build(without_widths(config(NARROW)))
    wrapper = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.1))
    projector = model.distiller.connectors.projector
    # The optimizer sees the projectors: they were created before it.
    assert any(p is projector.weight
               for g in wrapper.optimizer.param_groups for p in g['params'])
    before = projector.weight.detach().clone()
    losses = model.train_step(batch(), wrapper)
    assert torch.isfinite(losses['loss'])
    assert not torch.equal(before, projector.weight)


def test_an_intermediate_stage_gets_its_own_ensemble_and_loss():
    model = build(config(STAGE))
    stage = model.distiller.connectors.stage_projector
    assert (stage.in_channels, stage.out_channels) == (16, 64)
    model.train()
    data = model.data_preprocessor(batch(), training=True)
    losses = model(data['inputs'], data['data_samples'], mode='loss')
    assert {'distill.loss_pefd', 'distill.loss_stage'} <= set(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert stage.weight.grad is not None and stage.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
    # The stage is recorded before anything modifies it in place: the
    # recorded student map is the block's output (post-ReLU, >= 0) and the
    # projected one is what the loss compares with the teacher's map.
    s_map = model.distiller.get_record('stage', True)
    t_map = model.distiller.get_record('stage', False)
    assert s_map.shape[1:] == (16, 7, 7) and t_map.shape[1:] == (64, 7, 7)


def vit(**kwargs):
    return dict(
        _scope_='mmpretrain', type='ImageClassifier',
        backbone=dict(type='VisionTransformer', img_size=28, patch_size=7,
                      in_channels=1, arch=dict(embed_dims=32, num_layers=1,
                                               num_heads=2,
                                               feedforward_channels=64),
                      **kwargs),
        head=dict(type='VisionTransformerClsHead', num_classes=10,
                  in_channels=32))


def test_teacher_tokens_pool_to_a_pooled_student_only_when_asked():
    cfg = without_widths(config())
    cfg.model.teacher = vit(out_type='raw', with_cls_token=False)
    cfg.model.distiller.teacher_recorders.feat.source = 'backbone'
    with pytest.raises(ValueError, match="teacher_pool='adaptive_avg'"):
        build(cfg)
    cfg.model.distiller.distill_losses.loss_pefd.teacher_pool = 'adaptive_avg'
    model = build(cfg)
    projector = model.distiller.connectors.projector
    assert (projector.in_channels, projector.out_channels) == (64, 32)


def test_teacher_tokens_never_pool_to_a_student_map():
    cfg = without_widths(config())
    cfg.model.teacher = vit(out_type='raw', with_cls_token=False)
    cfg.model.distiller.teacher_recorders.feat.source = 'backbone'
    cfg.model.distiller.student_recorders.feat.source = 'backbone.layer3'
    cfg.model.distiller.loss_forward_mappings.loss_pefd.s_feature.data_idx = \
        None
    cfg.model.distiller.distill_losses.loss_pefd.teacher_pool = 'adaptive_avg'
    with pytest.raises(ValueError) as info:
        build(cfg)
    assert 'At build time' in str(info.value)
    assert 'cannot be pooled' in str(info.value)


def test_student_tokens_against_a_teacher_map_is_a_layout_error():
    cfg = without_widths(config())
    cfg.model.architecture = vit(out_type='raw', with_cls_token=False)
    cfg.model.distiller.student_recorders.feat.source = 'backbone'
    cfg.model.distiller.teacher_recorders.feat.source = 'backbone.layer3'
    cfg.model.distiller.loss_forward_mappings.loss_pefd.t_feature.data_idx = \
        None
    # 16 tokens of 32 -> 16 tokens of 64, compared with a 64 x 4 x 4 map
    # would be a layout mix: record the teacher's pooled feature instead.
    with pytest.raises(ValueError, match='different layouts'):
        build(cfg)


def test_loss_pools_the_teacher_map_to_the_student_size():
    s = torch.randn(2, 8, 4, 4)
    t = torch.randn(2, 8, 8, 8)
    loss = FeatureMSELoss(teacher_pool='adaptive_avg')(s, t)
    pooled = F.adaptive_avg_pool2d(t, (4, 4))
    expected = (F.normalize(s.flatten(1), dim=1) -
                F.normalize(pooled.flatten(1), dim=1)).pow(2).sum() / 2
    torch.testing.assert_close(loss, expected)
    with pytest.raises(ValueError, match="teacher_pool='adaptive_avg'"):
        FeatureMSELoss()(s, t)


def test_loss_normalises_per_location_when_asked():
    s = torch.randn(2, 8, 3, 3)
    t = torch.randn(2, 8, 3, 3)
    loss = FeatureMSELoss(normalize_over='location')(s, t)
    cos = F.cosine_similarity(s, t, dim=1)  # (2, 3, 3)
    torch.testing.assert_close(loss, (2 * (1 - cos)).sum() / 2)
    tokens_s, tokens_t = s.flatten(2).transpose(1, 2), t.flatten(2).transpose(
        1, 2)
    torch.testing.assert_close(
        FeatureMSELoss(normalize_over='location')(tokens_s, tokens_t), loss)


def test_a_connector_left_uninferred_says_how_to_infer_it():
    cfg = without_widths(config())
    with pytest.raises(WidthInferenceError, match='model.input_size'):
        build(cfg, input_size=None)


def shared(cfg):
    """The stage config with one connector for both losses."""
    distiller = cfg.model.distiller
    distiller.loss_forward_mappings.loss_stage.s_feature.connector = \
        'projector'
    distiller.connectors.pop('stage_projector')
    return cfg


@pytest.mark.parametrize('widths', [(None, None), (64, 64)])
def test_a_connector_shared_by_features_of_two_widths_says_it_cannot_work(
        widths):
    cfg = shared(config(STAGE))
    cfg.model.distiller.connectors.projector.update(
        in_channels=widths[0], out_channels=widths[1])
    with pytest.raises(WidthInferenceError) as err:
        build(cfg)
    message = str(err.value)
    assert ("Connector 'projector' is applied to student features of "
            "different widths: 64 (loss 'loss_pefd'") in message
    assert "16 (loss 'loss_stage'" in message
    assert 'give each its own connector' in message
    assert 'in_channels=' not in message  # no width fits both


def two_sided(cfg, student=(None, None), teacher=(None, None)):
    distiller = cfg.model.distiller
    distiller.connectors.projector.update(in_channels=student[0],
                                          out_channels=student[1])
    distiller.connectors['t_projector'] = dict(
        type='ProjectorEnsembleConnector', num_projectors=1,
        in_channels=teacher[0], out_channels=teacher[1])
    distiller.loss_forward_mappings.loss_pefd.t_feature.connector = \
        't_projector'
    return cfg


def test_two_sided_connectors_take_their_common_width_from_either():
    model = build(two_sided(config(), teacher=(None, 32)))
    connectors = model.distiller.connectors
    assert (connectors.projector.in_channels,
            connectors.projector.out_channels) == (64, 32)
    assert (connectors.t_projector.in_channels,
            connectors.t_projector.out_channels) == (64, 32)


def test_two_sided_connectors_without_a_common_width_name_both():
    with pytest.raises(WidthInferenceError) as err:
        build(two_sided(config()))
    assert ("connectors 'projector' and 't_projector' map the two sides of "
            "loss 'loss_pefd'") in str(err.value)
    assert 'the same out_channels' in str(err.value)


def test_two_sided_connectors_of_different_widths_name_both():
    with pytest.raises(WidthInferenceError) as err:
        build(two_sided(config(), student=(64, 64), teacher=(64, 32)))
    message = str(err.value)
    assert ("connectors 'projector' (out_channels=64) and 't_projector' "
            "(out_channels=32)") in message
    assert 'leave it out' not in message


def test_a_recorder_that_runs_only_in_loss_mode_is_named_in_the_dry_run():
    cfg = without_widths(config())
    distiller = cfg.model.distiller
    distiller.student_recorders.feat = dict(type='ModuleInputs',
                                            source='head.loss_module')
    with pytest.raises(Exception) as err:
        build(cfg)
    message = str(err.value)
    assert "source 'head.loss_module'" in message
    assert 'did not run in this forward pass' in message
    assert "mode 'tensor'" in message
    assert 'use 0' not in message
