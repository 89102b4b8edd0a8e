"""FeatureMSELoss: the paper's direction-alignment loss and its scale."""
import pytest
import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS

from projkd_mm.models.losses import FeatureMSELoss


def reference_pefd_loss(s, t):
    """The reference code's loss: 25 x mean(1 - cos), no epsilon."""
    s_hat = s / s.norm(dim=1, keepdim=True)
    t_hat = t / t.norm(dim=1, keepdim=True)
    return 25 * (1 - (s_hat * t_hat).sum(1)).mean()


def test_weight_12_5_batchmean_equals_reference_25_times_one_minus_cos():
    torch.manual_seed(0)
    s = torch.relu(torch.randn(64, 512, dtype=torch.float64))
    t = torch.relu(torch.randn(64, 512, dtype=torch.float64))
    loss = MODELS.build(
        dict(_scope_='mmrazor', type='FeatureMSELoss', loss_weight=12.5))
    assert loss.normalize and loss.reduction == 'batchmean'
    got = loss(s, t)
    assert abs(got.item() - reference_pefd_loss(s, t).item()) < 1e-6
    s32, t32 = s.float(), t.float()
    assert abs(loss(s32, t32).item() -
               reference_pefd_loss(s32, t32).item()) < 1e-5


def test_mean_reduction_divides_by_the_feature_size_too():
    s, t = torch.randn(8, 256), torch.randn(8, 256)
    batchmean = FeatureMSELoss(reduction='batchmean')(s, t)
    mean = FeatureMSELoss(reduction='mean')(s, t)
    total = FeatureMSELoss(reduction='sum')(s, t)
    torch.testing.assert_close(mean * 256, batchmean)
    torch.testing.assert_close(batchmean * 8, total)


def test_without_normalisation_it_is_the_squared_distance():
    s, t = torch.randn(4, 3), torch.randn(4, 3)
    got = FeatureMSELoss(normalize=False)(s, t)
    torch.testing.assert_close(got, ((s - t)**2).sum() / 4)


def test_feature_maps_are_normalised_per_sample():
    s, t = torch.randn(3, 4, 2, 2), torch.randn(3, 4, 2, 2)
    got = FeatureMSELoss()(s, t)
    expected = (F.normalize(s.flatten(1)) -
                F.normalize(t.flatten(1))).pow(2).sum() / 3
    torch.testing.assert_close(got, expected)


def test_epsilon_changes_nothing_on_normal_features():
    torch.manual_seed(0)
    s, t = torch.rand(128, 2048) * 1e-3, torch.rand(128, 2048)
    with_eps = FeatureMSELoss(loss_weight=12.5)(s, t)
    assert with_eps.item() == (12.5 * (
        s / s.norm(dim=1, keepdim=True) - t / t.norm(dim=1, keepdim=True)
    ).pow(2).sum() / 128).item()


def test_all_zero_features_give_a_finite_loss_and_gradient():
    s = torch.zeros(4, 16, requires_grad=True)
    t = torch.rand(4, 16)
    loss = FeatureMSELoss(loss_weight=12.5)(s, t)
    assert torch.isfinite(loss)
    assert torch.isnan(reference_pefd_loss(s.detach(), t))  # reference: NaN
    loss.backward()
    assert torch.isfinite(s.grad).all()


def test_teacher_side_gets_no_gradient():
    s = torch.randn(4, 8, requires_grad=True)
    t = torch.randn(4, 8, requires_grad=True)
    FeatureMSELoss()(s, t).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None


def test_fp16_features_with_large_norms_give_a_finite_fp32_loss():
    s = (torch.rand(8, 2048) * 300).half()
    t = (torch.rand(8, 2048) * 300).half()
    assert not torch.isfinite((s * s).sum())  # fp16 overflows here
    loss = FeatureMSELoss(loss_weight=12.5)(s, t)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    torch.testing.assert_close(
        loss, FeatureMSELoss(loss_weight=12.5)(s.float(), t.float()))


def test_shape_mismatch_names_both_shapes_and_the_config_keys():
    with pytest.raises(ValueError) as err:
        FeatureMSELoss()(torch.randn(2, 512), torch.randn(2, 2048))
    message = str(err.value)
    assert '(2, 512)' in message and '(2, 2048)' in message
    assert 'out_channels' in message and 'teacher_recorders' in message


def test_unknown_reduction_is_rejected():
    with pytest.raises(ValueError, match='reduction'):
        FeatureMSELoss(reduction='average')


def test_teacher_pool_never_upsamples_a_smaller_teacher_map():
    loss = FeatureMSELoss(teacher_pool='adaptive_avg')
    with pytest.raises(ValueError, match=r'teacher map \(2, 8, 4, 4\) is '
                       r'smaller than the student\'s \(2, 8, 8, 8\)'):
        loss(torch.randn(2, 8, 8, 8), torch.randn(2, 8, 4, 4))
