"""The distillation algorithm: real models, the real MMRazor distiller."""
import os
import os.path as osp
import pickle

import pytest
import torch
from conftest import PEFD_FMNIST, build_teacher_checkpoint
from conftest import fmnist_batch as batch
from mmengine.config import Config
from torch.nn.modules.batchnorm import _BatchNorm

from projkd_mm.utils.build import build_model
from projkd_mm.utils.safe_load import CheckpointError, load_checkpoint_file


def build(teacher_ckpt=None, **model_overrides):
    cfg = Config.fromfile(PEFD_FMNIST)
    return build_model(cfg, teacher_ckpt=teacher_ckpt, **model_overrides)


def loss_of(model, data):
    data = model.data_preprocessor(data, training=True)
    return model(data['inputs'], data['data_samples'], mode='loss')


def test_loads_the_teacher_strictly_and_keeps_it_frozen(teacher_ckpt):
    model = build(teacher_ckpt)
    expected = load_checkpoint_file(str(teacher_ckpt))['state_dict']
    for key, value in model.teacher.state_dict().items():
        torch.testing.assert_close(value, expected[key])
    assert not any(p.requires_grad for p in model.teacher.parameters())
    model.init_weights()  # the Runner calls this: must not re-init teacher
    torch.testing.assert_close(model.teacher.state_dict()['head.fc.weight'],
                               expected['head.fc.weight'])


def test_gradients_reach_student_and_projectors_never_the_teacher(
        teacher_ckpt):
    model = build(teacher_ckpt)
    model.train()
    losses = loss_of(model, batch())
    assert set(losses) == {'student.loss', 'distill.loss_pefd'}
    sum(losses.values()).backward()
    connector = model.distiller.connectors['projector']
    assert connector.weight.grad.abs().sum() > 0
    assert all(p.grad is not None
               for p in model.student.backbone.parameters())
    assert all(p.grad is None for p in model.teacher.parameters())


def test_teacher_stays_in_eval_mode_while_training(teacher_ckpt):
    model = build(teacher_ckpt)
    model.train()
    assert model.student.training
    assert not model.teacher.training
    bns = [m for m in model.teacher.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(m.training for m in bns)
    before = [m.running_mean.clone() for m in bns]
    loss_of(model, batch())
    for m, old in zip(bns, before):
        torch.testing.assert_close(m.running_mean, old)  # stats untouched


def test_distill_loss_equals_the_reference_on_recorded_features(teacher_ckpt):
    model = build(teacher_ckpt)
    model.train()
    losses = loss_of(model, batch())
    s = model.distiller.student_recorders.get_recorder('feat').get_record_data(
        data_idx=0)
    t = model.distiller.teacher_recorders.get_recorder('feat').get_record_data(
        data_idx=0)
    projected = model.distiller.connectors['projector'](s)
    cos = torch.nn.functional.cosine_similarity(projected, t, dim=1, eps=0)
    torch.testing.assert_close(losses['distill.loss_pefd'],
                               25 * (1 - cos).mean())


def test_missing_teacher_checkpoint_is_refused():
    with pytest.raises(ValueError) as err:
        build(None)
    assert 'model.teacher_ckpt' in str(err.value)
    assert 'allow_random_teacher' in str(err.value)


def test_random_teacher_only_when_the_config_opts_in():
    model = build(None, allow_random_teacher=True)
    assert model.teacher is not None


def test_nonexistent_teacher_checkpoint_names_the_path(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(CheckpointError, match='does not exist') as err:
        build(missing)
    assert missing in str(err.value)


def test_mismatched_teacher_checkpoint_lists_the_differences(tmp_path):
    state = torch.load(build_teacher_checkpoint(str(tmp_path / 't.pth')))
    state = state['state_dict']
    del state['backbone.layer3.0.conv1.weight']
    state['backbone.extra.weight'] = torch.zeros(1)
    state['head.fc.weight'] = torch.zeros(100, 64)
    torch.save(state, tmp_path / 'bad.pth')
    with pytest.raises(CheckpointError) as err:
        build(str(tmp_path / 'bad.pth'))
    message = str(err.value)
    assert 'missing keys (1): backbone.layer3.0.conv1.weight' in message
    assert 'unexpected keys (1): backbone.extra.weight' in message
    assert 'head.fc.weight (100, 64) vs model (10, 64)' in message


class _Payload:
    """Unpickling this creates a marker file: code execution."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_malicious_teacher_pickle_is_refused_and_never_executed(
        tmp_path, teacher_ckpt):
    marker = tmp_path / 'pwned'
    state = load_checkpoint_file(str(teacher_ckpt))
    state['meta'] = {'note': _Payload(str(marker))}
    path = tmp_path / 'evil.pth'
    torch.save(state, path)
    # The file really is malicious: a plain unpickler runs the payload.
    with open(tmp_path / 'probe.pkl', 'wb') as f:
        pickle.dump(_Payload(str(tmp_path / 'probe')), f)
    with open(tmp_path / 'probe.pkl', 'rb') as f:
        pickle.load(f)
    assert osp.exists(tmp_path / 'probe')

    with pytest.raises(CheckpointError, match='Refusing to unpickle') as err:
        build(str(path))
    assert 'system' in str(err.value)
    assert not marker.exists()


def test_truncated_teacher_checkpoint_says_so(tmp_path, teacher_ckpt):
    data = open(teacher_ckpt, 'rb').read()
    path = tmp_path / 'cut.pth'
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated or corrupt'):
        build(str(path))


def test_nonfinite_student_feature_stops_the_step_naming_the_recorder(
        teacher_ckpt):
    model = build(teacher_ckpt)
    model.train()
    data = model.data_preprocessor(batch(), training=True)
    handle = model.student.backbone.register_forward_hook(
        lambda m, i, out: (out[0] * float('nan'), ))
    with pytest.raises(FloatingPointError) as err:
        model(data['inputs'], data['data_samples'], mode='loss')
    handle.remove()
    message = str(err.value)
    assert 'distill.loss_pefd' in message
    assert "student recorder 'feat' (source 'neck')" in message
    assert 'teacher recorder' not in message


def test_nonfinite_teacher_feature_names_the_teacher_recorder(teacher_ckpt):
    model = build(teacher_ckpt)
    model.train()
    data = model.data_preprocessor(batch(), training=True)
    model.teacher.backbone.register_forward_hook(
        lambda m, i, out: (out[0] * float('inf'), ))
    with pytest.raises(FloatingPointError,
                       match="teacher recorder 'feat' \\(source 'neck'\\)"):
        model(data['inputs'], data['data_samples'], mode='loss')


def test_skip_mode_skips_the_update_and_keeps_batchnorm_statistics(
        teacher_ckpt):
    from mmengine.optim import OptimWrapper
    model = build(teacher_ckpt, nonfinite='skip')
    model.train()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1,
                                           momentum=0.9, weight_decay=5e-4))
    model.train_step(batch(seed=1), wrapper)  # a normal step first
    before = {k: v.clone() for k, v in model.state_dict().items()}
    handle = model.student.backbone.register_forward_hook(
        lambda m, i, out: (out[0] * float('nan'), ))
    log_vars = model.train_step(batch(), wrapper)
    handle.remove()
    assert log_vars['nonfinite_skipped'].item() == 1
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key], msg=key)
    # The next finite step trains as usual.
    log_vars = model.train_step(batch(seed=2), wrapper)
    assert torch.isfinite(log_vars['loss'])
    assert not torch.equal(model.state_dict()['architecture.head.fc.weight'],
                           before['architecture.head.fc.weight'])


def test_unknown_nonfinite_mode_is_rejected(teacher_ckpt):
    with pytest.raises(ValueError, match="nonfinite must be 'raise'"):
        build(teacher_ckpt, nonfinite='ignore')


def test_connector_width_mismatch_fails_at_first_forward_naming_shapes(
        teacher_ckpt):
    # Without model.input_size (no dry run at build time).
    cfg_change = dict(input_size=None, distiller=dict(
        connectors=dict(projector=dict(out_channels=32))))
    cfg = Config.fromfile(PEFD_FMNIST)
    cfg.merge_from_dict(dict(model=cfg_change))
    model = build_model(cfg, teacher_ckpt=teacher_ckpt)
    with pytest.raises(ValueError) as err:
        loss_of(model, batch())
    message = str(err.value)
    assert '(4, 32)' in message and '(4, 64)' in message
    assert 'model.distiller.connectors.<name>.out_channels' in message
