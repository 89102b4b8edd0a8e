"""ProjectorEnsembleConnector: the paper's q linear+ReLU projectors, fused."""
import math

import pytest
import torch
from mmrazor.registry import MODELS
from torch import nn

from projkd_mm.models.connectors import ProjectorEnsembleConnector


def separate_linears(connector: ProjectorEnsembleConnector):
    """The same members as q separate nn.Linear layers (the reference's)."""
    layers = []
    for i in range(connector.num_projectors):
        layer = nn.Linear(connector.in_channels, connector.out_channels)
        with torch.no_grad():
            layer.weight.copy_(connector.weight[i])
            layer.bias.copy_(connector.bias[i])
        layers.append(layer)
    return layers


def test_builds_from_mmrazor_registry_with_paper_defaults():
    connector = MODELS.build(
        dict(_scope_='mmrazor', type='ProjectorEnsembleConnector',
             in_channels=8, out_channels=16))
    assert isinstance(connector, ProjectorEnsembleConnector)
    assert connector.num_projectors == 3
    assert isinstance(connector.act, nn.ReLU)


@pytest.mark.parametrize('shape,out', [((4, 8), (4, 16)),
                                       ((4, 8, 1, 1), (4, 16, 1, 1)),
                                       ((4, 8, 5, 3), (4, 16, 5, 3))])
def test_output_keeps_the_input_layout_with_teacher_channels(shape, out):
    connector = ProjectorEnsembleConnector(8, 16, num_projectors=3)
    assert connector(torch.randn(shape)).shape == out


@pytest.mark.parametrize('shape', [(4, 8), (4, 8, 1, 1), (4, 8, 5, 3)])
def test_members_are_q_activated_outputs_whose_mean_is_forward(shape):
    connector = ProjectorEnsembleConnector(8, 16, num_projectors=4)
    x = torch.randn(shape)
    members = connector.members(x)
    assert members.shape == (shape[0], 4, 16, *shape[2:])
    assert (members >= 0).all()  # ReLU applied per member
    torch.testing.assert_close(members.mean(1), connector(x))


def test_fused_forward_equals_a_loop_of_separate_linear_relu_layers():
    torch.manual_seed(0)
    connector = ProjectorEnsembleConnector(32, 64, num_projectors=3)
    layers = separate_linears(connector)
    x = torch.randn(10, 32)
    reference = torch.stack([torch.relu(layer(x)) for layer in layers])
    torch.testing.assert_close(connector(x), reference.mean(0))
    # Order matters: ReLU per member then mean, not one ReLU after the mean.
    assert not torch.allclose(connector(x),
                              torch.relu(torch.stack(
                                  [layer(x) for layer in layers]).mean(0)))


def test_feature_map_projection_is_a_linear_layer_at_every_location():
    torch.manual_seed(0)
    connector = ProjectorEnsembleConnector(6, 5, num_projectors=2)
    x = torch.randn(2, 6, 3, 4)
    per_location = connector(x.permute(0, 2, 3, 1).reshape(-1, 6))
    expected = per_location.reshape(2, 3, 4, 5).permute(0, 3, 1, 2)
    torch.testing.assert_close(connector(x), expected)


def test_gradients_of_fused_and_separate_members_agree():
    torch.manual_seed(0)
    connector = ProjectorEnsembleConnector(16, 8, num_projectors=3)
    layers = separate_linears(connector)
    x = torch.randn(5, 16)
    connector(x).pow(2).sum().backward()
    torch.stack([torch.relu(m(x)) for m in layers]).mean(0).pow(2).sum(
    ).backward()
    for i, layer in enumerate(layers):
        torch.testing.assert_close(connector.weight.grad[i], layer.weight.grad)
        torch.testing.assert_close(connector.bias.grad[i], layer.bias.grad)


def test_initial_distribution_matches_nn_linear_default():
    torch.manual_seed(0)
    in_ch = 256
    connector = ProjectorEnsembleConnector(in_ch, 512, num_projectors=3)
    reference = torch.cat([nn.Linear(in_ch, 512).weight for _ in range(3)])
    bound = 1 / math.sqrt(in_ch)
    for got in (connector.weight, connector.bias):
        assert got.abs().max() <= bound
        assert got.abs().max() > 0.99 * bound
    # U(-b, b) has std b / sqrt(3); both draws agree with it and each other.
    expected_std = bound / math.sqrt(3)
    assert abs(connector.weight.std().item() - expected_std) < 0.01 * bound
    assert abs(reference.std().item() - expected_std) < 0.01 * bound
    assert abs(connector.weight.mean().item()) < 0.01 * bound


def test_members_are_different_at_initialisation():
    torch.manual_seed(0)
    connector = ProjectorEnsembleConnector(64, 64, num_projectors=3)
    x = torch.randn(32, 64)
    members = connector.members(x)
    for i in range(3):
        for j in range(i + 1, 3):
            assert not torch.allclose(connector.weight[i], connector.weight[j])
            corr = torch.corrcoef(
                torch.stack([members[:, i].flatten(),
                             members[:, j].flatten()]))[0, 1]
            assert corr < 0.9


def test_activation_can_be_switched_off():
    connector = ProjectorEnsembleConnector(4, 3, num_projectors=2,
                                           act_cfg=None)
    x = torch.randn(5, 4)
    expected = torch.stack([
        x @ connector.weight[i].T + connector.bias[i] for i in range(2)
    ]).mean(0)
    torch.testing.assert_close(connector(x), expected)
    assert (connector(x) < 0).any()


def test_wrong_student_channels_name_the_config_key():
    connector = ProjectorEnsembleConnector(512, 512)
    with pytest.raises(ValueError) as err:
        connector(torch.randn(2, 256))
    message = str(err.value)
    assert '(2, 256)' in message and 'in_channels' in message
    assert 'model.distiller.connectors' in message


@pytest.mark.parametrize('kwargs', [dict(num_projectors=0),
                                    dict(in_channels=0),
                                    dict(out_channels=2.5)])
def test_rejects_non_positive_sizes(kwargs):
    args = dict(in_channels=4, out_channels=4, num_projectors=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match='positive int'):
        ProjectorEnsembleConnector(**args)


def test_token_sequences_are_projected_token_by_token():
    """(N, L, C_in) as transformers return it: every token through the
    same q members, channels last, output (N, L, C_out)."""
    torch.manual_seed(0)
    connector = ProjectorEnsembleConnector(6, 5, num_projectors=3)
    layers = separate_linears(connector)
    x = torch.randn(2, 7, 6)
    out = connector(x)
    assert out.shape == (2, 7, 5)
    reference = torch.stack([torch.relu(layer(x)) for layer in layers])
    torch.testing.assert_close(out, reference.mean(0))
    members = connector.members(x)
    assert members.shape == (2, 3, 7, 5)
    torch.testing.assert_close(members.mean(1), out)


def test_tokens_with_the_wrong_width_name_the_config_key():
    connector = ProjectorEnsembleConnector(192, 64)
    with pytest.raises(ValueError) as err:
        connector(torch.randn(2, 197, 384))
    message = str(err.value)
    assert '(2, 197, 384)' in message and '(N, L, 192)' in message
    assert 'in_channels) to 384' in message
