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


def _both(ours: dict, theirs: dict):
    """FeatureMSELoss and mmrazor's L2Loss, built through the registry."""
    return (MODELS.build(dict(_scope_='mmrazor', type='FeatureMSELoss',
                              **ours)),
            MODELS.build(dict(_scope_='mmrazor', type='L2Loss', **theirs)))


def _features(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.relu(torch.randn(*shape, generator=g)),
            torch.relu(torch.randn(*shape, generator=g)))


@pytest.mark.parametrize('shape', [(16, 64), (4, 8, 3, 3)])
@pytest.mark.parametrize('ours, theirs', [
    (dict(), dict()),
    (dict(loss_weight=12.5), dict(loss_weight=12.5, normalize=True,
                                  mult=1.0, div_element=False, dist=False)),
    (dict(reduction='mean'), dict(div_element=True)),
    (dict(normalize=False), dict(normalize=False)),
    (dict(normalize=False, reduction='mean'),
     dict(normalize=False, div_element=True)),
])
def test_equals_mmrazor_l2loss_for_the_arguments_the_docstring_names(
        shape, ours, theirs):
    s, t = _features(shape)
    feature_mse, l2 = _both(ours, theirs)
    torch.testing.assert_close(feature_mse(s, t), l2(s, t))


def test_l2loss_dist_is_the_square_root_of_our_sum():
    s, t = _features((16, 64))
    feature_mse, l2 = _both(dict(reduction='sum'),
                            dict(loss_weight=3.0, dist=True))
    torch.testing.assert_close(l2(s, t), 3.0 * feature_mse(s, t).sqrt())


def test_l2loss_mult_scales_the_loss_by_its_square():
    s, t = _features((16, 64))
    feature_mse, l2 = _both(dict(), dict(mult=2.0))
    torch.testing.assert_close(l2(s, t), 4 * feature_mse(s, t))


def test_where_l2loss_differs_whatever_its_arguments():
    s, t = _features((4, 8, 3, 3))
    per_location, l2 = _both(dict(normalize_over='location'), dict())
    assert not torch.allclose(per_location(s, t), l2(s, t))
    feature_mse = FeatureMSELoss()
    # An all-zero feature: NaN there, finite here.
    zero = torch.zeros(4, 16)
    assert torch.isnan(l2(zero, t.flatten(1)[:, :16]))
    assert torch.isfinite(feature_mse(zero, t.flatten(1)[:, :16]))
    # fp16 features of norm above 65504: an infinite norm there.
    big_s, big_t = (torch.rand(2, 2, 20480) * 3000).half()
    torch.testing.assert_close(feature_mse(big_s, big_t),
                               l2(big_s.float(), big_t.float()))
    assert not torch.isclose(l2(big_s, big_t).float(),
                             l2(big_s.float(), big_t.float()))
    # The gradient reaches the teacher feature there, not here.
    s = s.flatten(1).requires_grad_()
    t = t.flatten(1).requires_grad_()
    l2(s, t).backward()
    assert t.grad is not None and t.grad.abs().sum() > 0
    t.grad = None
    feature_mse(s, t).backward()
    assert t.grad is None
