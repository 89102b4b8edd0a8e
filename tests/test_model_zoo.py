"""The model zoo: reference-sized backbones, buildable configs, converters.

Sizes are those of the RepDistiller/CRD models (``models/`` of
https://github.com/HobbitLong/RepDistiller) with a 100-class head, and of
PEFD's ImageNet MobileNet (https://github.com/chenyd7/PEFD). No test uses
the network: teachers are saved from freshly built models into tmp_path.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS as CLS_MODELS
from mmpretrain.structures import DataSample

import projkd_mm  # noqa: F401  (compat layer + registries)
from projkd_mm.utils.build import build_model
from projkd_mm.utils.convert import (
    REPDISTILLER_ARCHS,
    TORCHVISION_ARCHS,
    ArchSpec,
    build_classifier,
    convert_checkpoint,
)
from projkd_mm.utils.safe_load import CheckpointError, load_checkpoint_file
from projkd_mm.utils.state_dict import (
    extract_state_dict,
    load_state_dict_strict,
)
from projkd_mm.zoo import (
    CIFAR100_PAIRS,
    HEAD_INIT_CFGS,
    MOBILENET_V1,
    archs_table,
    cifar_pair,
    cifar_pairs_table,
    imagenet_pairs_table,
    readme_pairs_table,
)
from projkd_tools.cli import converter_main

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Tensors in the reference model's state dict, per arch (a fact of the
# reference code's layout). Parameter counts and widths: projkd_mm.zoo.
REFERENCE_TENSORS = {
    'resnet8x4': 62, 'resnet32x4': 206, 'wrn_40_2': 227, 'wrn_40_1': 226,
    'wrn_16_2': 83, 'vgg13': 72, 'vgg8': 37, 'ResNet50': 320,
    'MobileNetV2': 320, 'ShuffleV1': 296, 'ShuffleV2': 338, 'resnet56': 344,
    'resnet20': 128, 'resnet110': 668, 'resnet32': 200,
}
# arch: (parameters of the ImageClassifier with a 100-class head,
#        penultimate width, tensors in the reference model's state dict).
REFERENCE = {
    arch: (REPDISTILLER_ARCHS[arch].params, REPDISTILLER_ARCHS[arch].feat_dim,
           tensors) for arch, tensors in REFERENCE_TENSORS.items()
}

# Names that only the reference layout has: a converter that drops or
# misnames a layer fails these.
REFERENCE_KEYS = {
    'resnet32x4': ['layer1.0.downsample.0.weight', 'fc.weight'],
    'wrn_40_2': ['block1.layer.0.convShortcut.weight',
                 'block3.layer.5.bn2.running_var', 'bn1.weight', 'fc.bias'],
    'vgg13': ['block0.0.bias', 'block0.1.running_mean', 'block0.3.weight',
              'block4.4.weight', 'classifier.weight'],
    'ResNet50': ['layer4.0.shortcut.1.running_mean', 'linear.weight'],
    'MobileNetV2': ['conv1.0.weight', 'blocks.6.0.conv.7.weight',
                    'conv2.1.bias', 'classifier.0.weight'],
    'ShuffleV1': ['layer1.0.conv1.weight', 'layer3.3.bn3.bias',
                  'linear.weight'],
    'ShuffleV2': ['layer1.0.conv5.weight', 'layer3.3.bn3.bias',
                  'conv2.weight', 'bn2.running_var', 'linear.weight'],
}

# config file -> (teacher arch, student arch), from the one zoo table.
CIFAR_PAIRS = {p.config: (p.teacher, p.student) for p in CIFAR100_PAIRS}
IMAGENET_CONFIGS = [f'{method}_resnet50_mobilenet-v1_100e_in1k.py'
                    for method in ('pefd', 'pefd-q1', 'kd')]


def num_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def to_reference_layout(state_dict, spec: ArchSpec):
    """Undo the conversion by hand: the layout RepDistiller saves."""
    out = {}
    for key, value in state_dict.items():
        if key.startswith('head.fc.'):
            out[spec.classifier + key[len('head.fc'):]] = value
        else:
            key = key[len('backbone.'):]
            for old, new in spec.renames:
                key = key.replace(new, old)
            out[key] = value
    return out


def randomise_bn(model: torch.nn.Module) -> None:
    """Non-trivial BN statistics, so eval-mode logits depend on every key."""
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1, generator=gen)
            m.running_var.uniform_(0.9, 1.1, generator=gen)


@pytest.mark.parametrize('arch', list(REFERENCE))
def test_backbone_has_reference_size_and_width(arch):
    params, width, _ = REFERENCE[arch]
    model = build_classifier(REPDISTILLER_ARCHS[arch], num_classes=100)
    assert num_params(model) == params
    feature = model.extract_feat(torch.randn(2, 3, 32, 32))
    assert isinstance(feature, tuple) and feature[0].shape == (2, width)
    # The penultimate feature is taken after the last ReLU.
    assert feature[0].min() >= 0


def test_imagenet_mobilenet_v1_has_reference_size_and_width():
    model = build_classifier(MOBILENET_V1, num_classes=1000)
    assert num_params(model) == MOBILENET_V1.params == 4_231_976
    (feature, ) = model.extract_feat(torch.randn(1, 3, 64, 64))
    assert feature.shape == (1, 1024) and feature.min() >= 0


def test_vgg_pools_after_block3_only_for_64px_inputs():
    backbone = CLS_MODELS.build(dict(type='CifarVGG', depth=8))
    assert backbone(torch.randn(1, 3, 32, 32))[0].shape == (1, 512, 4, 4)
    assert backbone(torch.randn(1, 3, 64, 64))[0].shape == (1, 512, 4, 4)


def _build_with_local_teacher(cfg: Config, tmp_path) -> torch.nn.Module:
    teacher = CLS_MODELS.build(cfg.model.teacher)
    randomise_bn(teacher)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save(teacher.state_dict(), ckpt)
    model = build_model(cfg, teacher_ckpt=ckpt)
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher.state_dict()[key]), key
    return model


def _distill_step(model: torch.nn.Module, size: int) -> dict:
    model.train()
    data = dict(
        inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
                for _ in range(2)],
        data_samples=[DataSample().set_gt_label(i) for i in range(2)])
    data = model.data_preprocessor(data, True)
    losses = model(**data, mode='loss')
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    return losses


def _grad_norm(params) -> float:
    return sum(float(p.grad.abs().sum()) for p in params
               if p.grad is not None)


@pytest.mark.parametrize('name', sorted(CIFAR_PAIRS))
def test_cifar_pair_builds_and_distils(name, tmp_path):
    teacher_arch, student_arch = CIFAR_PAIRS[name]
    cfg = Config.fromfile(osp.join(REPO, 'configs/projkd/cifar100', name))
    model = _build_with_local_teacher(cfg, tmp_path)
    assert num_params(model.student) == REFERENCE[student_arch][0]
    assert num_params(model.teacher) == REFERENCE[teacher_arch][0]
    projector = model.distiller.connectors['projector']
    assert (projector.in_channels, projector.out_channels,
            projector.num_projectors) == (REFERENCE[student_arch][1],
                                          REFERENCE[teacher_arch][1], 3)
    assert cfg.optim_wrapper.optimizer.lr == cifar_pair(
        teacher_arch, student_arch).lr
    # The reference's recipe: 0.01 for MobileNetV2/ShuffleNet students.
    assert cfg.optim_wrapper.optimizer.lr == (
        0.01 if student_arch in ('MobileNetV2', 'ShuffleV1', 'ShuffleV2')
        else 0.05)

    losses = _distill_step(model, 32)
    # Post-ReLU features: the loss lies in [0, 25] (FeatureMSELoss's doc).
    assert 0 <= losses['distill.loss_pefd'].item() <= 25
    assert not model.teacher.training
    assert _grad_norm(projector.parameters()) > 0
    assert _grad_norm(model.student.backbone.parameters()) > 0
    assert all(p.grad is None for p in model.teacher.parameters())


@pytest.mark.parametrize('name', IMAGENET_CONFIGS)
def test_imagenet_r50_mbv1_config_builds_and_distils(name, tmp_path):
    cfg = Config.fromfile(osp.join(REPO, 'configs/projkd/imagenet', name))
    assert cfg.model.teacher_ckpt.endswith(
        'resnet50_8xb32_in1k_20210831-ea4938fc.pth')
    model = _build_with_local_teacher(cfg, tmp_path)
    assert num_params(model.student) == 4_231_976
    assert model.student.backbone.__class__.__name__ == 'MobileNetV1'
    _distill_step(model, 64)
    assert _grad_norm(model.student.backbone.parameters()) > 0
    assert all(p.grad is None for p in model.teacher.parameters())
    if not name.startswith('kd_'):
        projector = model.distiller.connectors['projector']
        assert (projector.in_channels, projector.out_channels) == (1024, 2048)
        assert projector.num_projectors == (
            3 if name.startswith('pefd_') else 1)
        assert _grad_norm(projector.parameters()) > 0


def _reference_checkpoint(arch: str, path: str, data_parallel: bool = False):
    """A model and its RepDistiller-style file ``{'model': ..., ...}``."""
    spec = REPDISTILLER_ARCHS[arch]
    model = build_classifier(spec, num_classes=100)
    randomise_bn(model)
    state_dict = to_reference_layout(model.state_dict(), spec)
    if data_parallel:
        state_dict = {'module.' + k: v for k, v in state_dict.items()}
    torch.save({'epoch': 240, 'model': state_dict,
                'accuracy': torch.tensor(79.42),
                'optimizer': {'state': {}, 'param_groups': []}}, path)
    return model, state_dict


@pytest.mark.parametrize('arch', list(REFERENCE_KEYS))
def test_converted_repdistiller_checkpoint_gives_same_logits(arch, tmp_path):
    src, dst = str(tmp_path / 'ckpt_epoch_240.pth'), str(tmp_path / 'o.pth')
    model, state_dict = _reference_checkpoint(arch, src,
                                              data_parallel=arch == 'vgg13')
    keys = {k[len('module.'):] if k.startswith('module.') else k
            for k in state_dict}
    assert len(keys) == REFERENCE[arch][2]
    assert set(REFERENCE_KEYS[arch]) <= keys

    meta = convert_checkpoint(src, dst, arch)
    assert meta['arch'] == arch and meta['num_classes'] == 100
    assert meta['epoch'] == 240 and meta['accuracy'] == pytest.approx(79.42)

    converted = load_checkpoint_file(dst)
    assert set(converted) == {'state_dict', 'meta'}
    fresh = build_classifier(REPDISTILLER_ARCHS[arch], num_classes=100)
    load_state_dict_strict(fresh, extract_state_dict(converted, 'c'), 'c')
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(
            fresh.eval()(x, mode='tensor'), model.eval()(x, mode='tensor'))


def test_torchvision_resnet_without_bn_counters_converts(tmp_path):
    """Old torchvision files (e.g. resnet34-333f7ec4) lack BN counters."""
    import torchvision
    reference = torchvision.models.resnet18()
    randomise_bn(reference)
    src, dst = str(tmp_path / 'resnet18.pth'), str(tmp_path / 'o.pth')
    torch.save({k: v for k, v in reference.state_dict().items()
                if not k.endswith('num_batches_tracked')}, src)
    convert_checkpoint(src, dst, 'resnet18', TORCHVISION_ARCHS,
                       'torchvision')
    model = build_classifier(TORCHVISION_ARCHS['resnet18'], 1000)
    load_state_dict_strict(
        model, extract_state_dict(load_checkpoint_file(dst), 'c'), 'c')
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(
            model.eval()(x, mode='tensor'), reference.eval()(x))


def test_converter_names_the_right_arch_for_a_mismatched_file(tmp_path):
    src = str(tmp_path / 'wrn.pth')
    _reference_checkpoint('wrn_16_2', src)
    with pytest.raises(CheckpointError) as err:
        convert_checkpoint(src, str(tmp_path / 'o.pth'), 'resnet32x4')
    assert 'fits --arch wrn_16_2' in str(err.value)
    assert not osp.exists(tmp_path / 'o.pth')


def test_converter_refuses_missing_truncated_and_foreign_files(tmp_path):
    out = str(tmp_path / 'o.pth')
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(CheckpointError, match='does not exist'):
        convert_checkpoint(missing, out, 'resnet56')

    whole = str(tmp_path / 'whole.pth')
    _reference_checkpoint('resnet20', whole)
    truncated = tmp_path / 'truncated.pth'
    data = open(whole, 'rb').read()
    truncated.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated or corrupt'):
        convert_checkpoint(str(truncated), out, 'resnet20')

    foreign = tmp_path / 'notes.pth'
    foreign.write_bytes(b'not a checkpoint at all')
    with pytest.raises(CheckpointError, match='notes.pth'):
        convert_checkpoint(str(foreign), out, 'resnet20')
    assert not osp.exists(out)


def test_converter_rejects_an_unknown_arch(tmp_path):
    with pytest.raises(ValueError, match='wrn_40_2'):
        convert_checkpoint('x.pth', str(tmp_path / 'o.pth'), 'wrn402')


def test_converter_command_line_reports_errors_and_success(tmp_path, capsys):
    src, dst = str(tmp_path / 'r.pth'), str(tmp_path / 'out' / 'r.pth')
    _reference_checkpoint('resnet20', src)
    assert converter_main(tuple(REPDISTILLER_ARCHS), 'RepDistiller', 'd',
                          [src, dst, '--arch', 'resnet56']) == 1
    assert 'fits --arch resnet20' in capsys.readouterr().err
    assert converter_main(tuple(REPDISTILLER_ARCHS), 'RepDistiller', 'd',
                          [src, dst, '--arch', 'resnet20']) == 0
    assert 'Wrote' in capsys.readouterr().out and osp.isfile(dst)


def test_docs_and_readme_show_the_one_zoo_table():
    with open(osp.join(REPO, 'docs', 'model_zoo.md')) as f:
        docs = f.read()
    for table in (cifar_pairs_table(), imagenet_pairs_table(),
                  archs_table()):
        assert table in docs, ('docs/model_zoo.md is out of date: paste '
                               'the output of `python -m projkd_mm.zoo`')
    with open(osp.join(REPO, 'README.md')) as f:
        assert readme_pairs_table() in f.read()


def test_every_cifar_config_is_a_zoo_pair():
    on_disk = {osp.basename(p) for p in glob.glob(
        osp.join(REPO, 'configs', 'projkd', 'cifar100', '*.py'))}
    # Variants that also distil an intermediate stage of a zoo pair.
    variants = {p for p in on_disk if p.startswith('pefd-stage2_')}
    assert on_disk - variants == set(CIFAR_PAIRS)
    for variant in variants:
        assert variant.replace('pefd-stage2_', 'pefd_') in CIFAR_PAIRS


@pytest.mark.parametrize('pair', CIFAR100_PAIRS, ids=lambda p: p.config)
def test_cifar_student_heads_start_as_the_reference(pair):
    """The student's classifier init of each pair is the reference's for
    that arch (projkd_mm.zoo head_init), not mmpretrain's N(0, 0.01)."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/projkd/cifar100',
                                   pair.config))
    head = cfg.model.architecture.head
    expected = HEAD_INIT_CFGS[REPDISTILLER_ARCHS[pair.student].head_init]
    # No init_cfg key: LinearClsHead's default, N(0, 0.01).
    got = head.init_cfg if 'init_cfg' in head else HEAD_INIT_CFGS[
        'normal-0.01']
    assert (got.to_dict() if hasattr(got, 'to_dict') else got) == expected


@pytest.mark.parametrize('config,head_init', [
    ('pefd_resnet32x4_resnet8x4_240e_cifar100.py', 'torch'),
    ('pefd_wrn-40-2_wrn-16-2_240e_cifar100.py', 'torch-zero-bias'),
    ('pefd_vgg13_vgg8_240e_cifar100.py', 'normal-0.01'),
])
def test_student_head_init_has_the_reference_statistics(config, head_init):
    cfg = Config.fromfile(osp.join(REPO, 'configs/projkd/cifar100', config))
    torch.manual_seed(0)
    student = CLS_MODELS.build(cfg.model.architecture)
    student.init_weights()
    fc = student.head.fc
    bound = fc.in_features ** -0.5  # nn.Linear's uniform bound
    weight_std = float(fc.weight.std())
    if head_init == 'normal-0.01':
        assert abs(weight_std - 0.01) < 0.002
    else:  # U(-bound, bound): std = bound / sqrt(3)
        assert float(fc.weight.abs().max()) <= bound
        assert abs(weight_std - bound / 3**0.5) < 0.1 * bound
    if head_init == 'torch':
        assert float(fc.bias.abs().max()) > 0
        assert float(fc.bias.abs().max()) <= bound
    else:
        assert not fc.bias.any()


@pytest.mark.parametrize('config', ['pefd_resnet34_resnet18_100e_in1k.py',
                                    'pefd_resnet50_mobilenet-v1_100e_in1k.py'])
def test_imagenet_students_are_initialised_as_torchvision(config):
    """No zero-initialised last BN of the residual blocks, and the
    classifier keeps nn.Linear's init (torchvision's ResNet, PEFD's
    MobileNet)."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/projkd/imagenet', config))
    torch.manual_seed(0)
    student = CLS_MODELS.build(cfg.model.architecture)
    student.init_weights()
    if 'resnet18' in config:
        for layer in (student.backbone.layer1, student.backbone.layer4):
            for block in layer:
                assert bool((block.norm2.weight == 1).all())
    assert float(student.head.fc.bias.abs().max()) > 0
