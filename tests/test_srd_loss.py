"""SRDLoss: SRD's feature term (Miles & Mikolajczyk, AAAI 2024), on its own
and in the Fashion-MNIST study's SRD config with the real MMRazor
distiller and real mmpretrain models."""
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from conftest import (
    FMNIST_DIR,
    fmnist_batch,
    options_to_argv,
    tiny_run_options,
)
from mmengine.config import Config
from mmrazor.registry import MODELS
from torch import nn

from projkd_mm.models.connectors import ProjectorEnsembleConnector
from projkd_mm.models.losses import SRDLoss
from projkd_mm.utils.build import build_model
from projkd_mm.utils.safe_load import load_checkpoint_file

SRD_FMNIST = osp.join(FMNIST_DIR, 'srd_resnet20s2_resnet8s2_5e_fmnist.py')


def authors_srd(s, t, projector):
    """The formula as the authors' code writes it: nn.Linear(C_s, C_t) (here
    with the connector's weights), two BatchNorm1d(C_t, eps=1e-4,
    affine=False) in training mode, log of the summed 4th powers, x 2."""
    s, t = s.double(), t.double()
    linear = nn.Linear(s.shape[1], t.shape[1]).double()
    bn_s = nn.BatchNorm1d(t.shape[1], eps=1e-4, affine=False).double()
    bn_t = nn.BatchNorm1d(t.shape[1], eps=1e-4, affine=False).double()
    with torch.no_grad():
        linear.weight.copy_(projector.weight[0])
        linear.bias.copy_(projector.bias[0])
    diff = bn_s(linear(s)) - bn_t(t)
    return 2.0 * torch.log(diff.abs().pow(4.0).sum())


def test_pinned_value_worked_out_by_hand():
    # One channel, two samples. Student (0, 2) and teacher (3, 1) both have
    # batch mean +-1 deviations and biased variance 1, so z_s = (-1, 1) / r
    # and z_t = (1, -1) / r with r = sqrt(1 + 1e-4). |z_s - z_t|^4 = 16 / r^4
    # per sample, summed: 32 / (1 + 1e-4)^2, and
    # 2 * log(...) = 10 * log(2) - 4 * log(1 + 1e-4).
    s = torch.tensor([[0.0], [2.0]], dtype=torch.float64)
    t = torch.tensor([[3.0], [1.0]], dtype=torch.float64)
    loss = MODELS.build(dict(_scope_='mmrazor', type='SRDLoss'))
    expected = 10 * math.log(2) - 4 * math.log(1 + 1e-4)
    assert abs(expected - 6.931071825598121) < 1e-12
    assert abs(loss(s, t).item() - expected) < 1e-12
    # eps is the authors' 1e-4: 1e-5 gives another value.
    assert abs(SRDLoss(eps=1e-5)(s, t).item() - expected) > 3e-4


def test_equals_the_authors_formula_through_a_one_member_linear_connector():
    torch.manual_seed(0)
    s = torch.relu(torch.randn(16, 8, dtype=torch.float64))
    t = torch.relu(torch.randn(16, 12, dtype=torch.float64))
    projector = ProjectorEnsembleConnector(8, 12, num_projectors=1,
                                           act_cfg=None).double()
    got = SRDLoss()(projector(s), t)
    torch.testing.assert_close(got, authors_srd(s, t, projector))
    # float32 agrees too.
    got32 = SRDLoss()(projector.float()(s.float()), t.float())
    assert abs(got32.item() - got.item()) < 1e-4


def test_normalisation_is_batchnorm_without_affine_with_batch_statistics():
    loss = SRDLoss()
    assert list(loss.parameters()) == [] and list(loss.buffers()) == []
    torch.manual_seed(0)
    x = torch.randn(32, 6) * 3 + 5
    bn = nn.BatchNorm1d(6, eps=1e-4, affine=False).train()
    torch.testing.assert_close(loss.normalize(x), bn(x))
    # In eval mode too (an nn.BatchNorm1d would switch to running stats).
    s, t = torch.randn(32, 6), torch.randn(32, 6)
    train_value = loss.train()(s, t)
    torch.testing.assert_close(loss.eval()(s, t), train_value)


def test_exponent_and_weight_enter_as_written():
    torch.manual_seed(1)
    s, t = torch.randn(8, 4, dtype=torch.float64), torch.randn(
        8, 4, dtype=torch.float64)
    loss = SRDLoss(loss_weight=0.5, exponent=2.0)
    z_s, z_t = loss.normalize(s), loss.normalize(t)
    torch.testing.assert_close(
        loss(s, t), 0.5 * torch.log(((z_s - z_t)**2).sum()))
    # (N, C, 1, 1) is the same feature as (N, C).
    torch.testing.assert_close(loss(s[:, :, None, None], t), loss(s, t))


def test_gradients_reach_the_projector_and_never_the_teacher():
    torch.manual_seed(0)
    projector = ProjectorEnsembleConnector(8, 8, num_projectors=1,
                                           act_cfg=None)
    s = torch.randn(4, 8, requires_grad=True)
    t = torch.randn(4, 8, requires_grad=True)
    SRDLoss()(projector(s), t).backward()
    assert projector.weight.grad.abs().sum() > 0
    assert s.grad.abs().sum() > 0
    assert t.grad is None


def test_computed_in_fp32_under_autocast():
    torch.manual_seed(0)
    s, t = torch.randn(64, 16), torch.randn(64, 16)
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        got = SRDLoss()(s.bfloat16(), t.bfloat16())
    assert got.dtype == torch.float32
    expected = SRDLoss()(s.bfloat16().float(), t.bfloat16().float())
    torch.testing.assert_close(got, expected)


def test_width_mismatch_names_the_connector_out_channels():
    with pytest.raises(ValueError) as err:
        SRDLoss()(torch.randn(4, 32), torch.randn(4, 64))
    message = str(err.value)
    assert '32 channels but the teacher feature 64' in message
    assert 'connectors.<name>.out_channels) to 64' in message


@pytest.mark.parametrize('s_shape, t_shape, match', [
    ((4, 8), (5, 8), 'has 4 samples but the teacher feature 5'),
    ((4, 8, 7, 7), (4, 8), r'student feature has shape \(4, 8, 7, 7\)'),
    ((4, 8), (4, 3, 8), r'teacher feature has shape \(4, 3, 8\)'),
    ((1, 8), (1, 8), 'drop_last=True'),
])
def test_features_it_cannot_compare_are_refused_with_the_fix(
        s_shape, t_shape, match):
    with pytest.raises(ValueError, match=match):
        SRDLoss()(torch.randn(*s_shape), torch.randn(*t_shape))


@pytest.mark.parametrize('kwargs, match', [
    (dict(loss_weight=-1.0), 'loss_weight must be a finite number >= 0'),
    (dict(loss_weight=True), 'loss_weight'),
    (dict(exponent=0), 'exponent must be a finite number > 0'),
    (dict(eps=0.0), 'eps must be a finite number > 0'),
    (dict(eps=float('nan')), 'eps'),
])
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SRDLoss(**kwargs)


def test_identical_or_nonfinite_features_give_a_nonfinite_loss():
    # No epsilon in the log, as the authors': identical normalised features
    # give -inf; a NaN gives NaN. The algorithm's guard reports both (below).
    x = torch.randn(4, 8)
    assert SRDLoss()(x, x.clone()).item() == -math.inf
    assert math.isnan(SRDLoss()(x * float('nan'), x).item())


# ------------------------- the config, real models -------------------------


@pytest.fixture(scope='module')
def srd_teacher_ckpt(tmp_path_factory) -> str:
    """The study teacher's (ResNet-20 s2) seeded weights."""
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    cfg = Config.fromfile(SRD_FMNIST)
    torch.manual_seed(0)
    teacher = PRETRAIN_MODELS.build(
        {k: v for k, v in cfg.model.teacher.items() if k != '_scope_'})
    path = str(tmp_path_factory.mktemp('srd_teacher') / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, path)
    return path


def build_srd(teacher_ckpt, **overrides):
    return build_model(Config.fromfile(SRD_FMNIST), teacher_ckpt=teacher_ckpt,
                       **overrides)


def losses_of(model, data):
    data = model.data_preprocessor(data, training=True)
    return model(data['inputs'], data['data_samples'], mode='loss')


def test_config_is_the_authors_recipe_on_the_study_pair():
    cfg = Config.fromfile(SRD_FMNIST)
    pefd = Config.fromfile(
        osp.join(FMNIST_DIR, 'pefd_resnet20s2_resnet8s2_5e_fmnist.py'))
    for key in ('architecture', 'teacher', 'teacher_ckpt', 'input_size'):
        assert cfg.model[key] == pefd.model[key], key
    for key in ('train_dataloader', 'val_dataloader', 'optim_wrapper',
                'param_scheduler', 'train_cfg', 'val_cfg', 'randomness'):
        assert cfg.get(key) == pefd.get(key), key
    assert cfg.model.architecture.head.loss.loss_weight == 1.0  # CE x 1
    distiller = cfg.model.distiller
    projector = distiller.connectors.projector
    assert (projector.num_projectors, projector.act_cfg) == (1, None)
    losses = distiller.distill_losses
    assert (losses.loss_srd.type, losses.loss_srd.loss_weight,
            losses.loss_srd.exponent, losses.loss_srd.eps) == (
                'SRDLoss', 2.0, 4.0, 1e-4)
    assert (losses.loss_kd.type, losses.loss_kd.tau,
            losses.loss_kd.loss_weight, losses.loss_kd.reduction) == (
                'KLDivergence', 1, 1.0, 'batchmean')


def test_distiller_losses_equal_the_authors_formula_on_recorded_features(
        srd_teacher_ckpt):
    model = build_srd(srd_teacher_ckpt)
    model.train()
    losses = losses_of(model, fmnist_batch(8))
    assert set(losses) == {'student.loss', 'distill.loss_srd',
                           'distill.loss_kd'}
    distiller = model.distiller

    def record(side, name, **kw):
        manager = getattr(distiller, f'{side}_recorders')
        return manager.get_recorder(name).get_record_data(**kw).double()

    s, t = record('student', 'feat', data_idx=0), record('teacher', 'feat',
                                                         data_idx=0)
    expected = authors_srd(s, t, distiller.connectors['projector'])
    torch.testing.assert_close(losses['distill.loss_srd'].double(), expected,
                               rtol=1e-5, atol=1e-5)
    # The authors' KL: kl_div summed over everything, / batch, T = 1.
    y_s, y_t = record('student', 'logits'), record('teacher', 'logits')
    kl = F.kl_div(F.log_softmax(y_s, 1), F.softmax(y_t, 1),
                  reduction='sum') / y_s.shape[0]
    torch.testing.assert_close(losses['distill.loss_kd'].double(), kl,
                               rtol=1e-5, atol=1e-6)


def test_gradients_reach_student_and_projector_never_the_teacher(
        srd_teacher_ckpt):
    model = build_srd(srd_teacher_ckpt)
    model.train()
    sum(losses_of(model, fmnist_batch(8)).values()).backward()
    projector = model.distiller.connectors['projector']
    assert projector.weight.grad.abs().sum() > 0
    assert all(p.grad is not None
               for p in model.student.backbone.parameters())
    assert all(p.grad is None for p in model.teacher.parameters())
    # The loss keeps no state: the checkpoint holds the projector only.
    keys = [k for k in model.state_dict() if k.startswith('distiller.')]
    assert sorted(keys) == ['distiller.connectors.projector.bias',
                            'distiller.connectors.projector.weight']


def test_nonfinite_student_feature_stops_the_step_naming_the_recorder(
        srd_teacher_ckpt):
    model = build_srd(srd_teacher_ckpt)
    model.train()
    data = model.data_preprocessor(fmnist_batch(8), training=True)
    model.student.backbone.register_forward_hook(
        lambda m, i, out: (out[0] * float('nan'), ))
    with pytest.raises(FloatingPointError) as err:
        model(data['inputs'], data['data_samples'], mode='loss')
    assert 'distill.loss_srd' in str(err.value)
    assert "student recorder 'feat' (source 'neck')" in str(err.value)


def test_a_wrong_projector_width_fails_at_build_naming_the_fix(
        srd_teacher_ckpt):
    cfg = Config.fromfile(SRD_FMNIST)
    cfg.model.distiller.connectors.projector.out_channels = 32
    with pytest.raises(ValueError, match='out_channels=64'):
        build_model(cfg, teacher_ckpt=srd_teacher_ckpt)


@pytest.mark.slow
def test_a_tiny_real_training_run(tmp_path, digits_root, srd_teacher_ckpt,
                                  run_tool):
    work = str(tmp_path / 'work')
    opts = tiny_run_options(digits_root,
                            **{'model.teacher_ckpt': srd_teacher_ckpt})
    out = run_tool('tools/train.py', SRD_FMNIST, '--work-dir', work,
                   *options_to_argv(opts)).stdout
    assert 'distill.loss_srd' in out and 'distill.loss_kd' in out
    assert 'teacher.accuracy/top1' in out
    ckpt = load_checkpoint_file(osp.join(work, 'epoch_1.pth'))
    state = ckpt['state_dict']
    assert 'distiller.connectors.projector.weight' in state
    assert not any(k.startswith('distiller.distill_losses') for k in state)
    assert all(torch.isfinite(v).all() for v in state.values()
               if v.is_floating_point())
