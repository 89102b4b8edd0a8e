"""Specification of projkd_mm.analysis and tools/analysis/ (CKA, ECE, CLI)."""
import importlib.util
import json
import math
import os.path as osp
import struct

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from projkd_mm.analysis import (
    calibration_bins,
    expected_calibration_error,
    extract_outputs,
    linear_cka,
)

# mmpretrain 1.2.0's MNIST reader warns once per sample on numpy 2.
pytestmark = pytest.mark.filterwarnings(
    'ignore::DeprecationWarning:mmpretrain.datasets.mnist')

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(name):
    """Import tools/analysis/<name>.py as a module (tools is no package)."""
    path = osp.join(REPO, 'tools', 'analysis', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'analysis_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_mnist_idx(root, split, images, labels):
    """Write un-gzipped MNIST idx files, the layout mmpretrain's MNIST and
    FashionMNIST datasets read.

    Args:
        root: Folder to write into.
        split (str): 'train' (train-*-idx?-ubyte) or 'test' (t10k-*).
        images (np.ndarray): uint8 ``(N, rows, cols)``.
        labels (np.ndarray): ``(N,)`` classes in [0, 255].
    """
    prefix = 'train' if split == 'train' else 't10k'
    n, rows, cols = images.shape
    with open(osp.join(root, f'{prefix}-images-idx3-ubyte'), 'wb') as f:
        f.write(struct.pack('>iiii', 2051, n, rows, cols))
        f.write(images.astype(np.uint8).tobytes())
    with open(osp.join(root, f'{prefix}-labels-idx1-ubyte'), 'wb') as f:
        f.write(struct.pack('>ii', 2049, n))
        f.write(labels.astype(np.uint8).tobytes())


NUM_TRAIN, NUM_TEST = 1500, 297


@pytest.fixture(scope='module')
def digits_idx_root(tmp_path_factory):
    """scikit-learn's 1797 digits, upscaled to 28x28, as MNIST idx files."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    small = torch.from_numpy(digits.images).float()[:, None] * (255 / 16)
    big = F.interpolate(small, size=(28, 28), mode='bilinear',
                        align_corners=False)
    images = big.round().clamp(0, 255).to(torch.uint8)[:, 0].numpy()
    labels = digits.target
    root = tmp_path_factory.mktemp('digits')
    write_mnist_idx(root, 'train', images[:NUM_TRAIN], labels[:NUM_TRAIN])
    write_mnist_idx(root, 'test', images[NUM_TRAIN:], labels[NUM_TRAIN:])
    return root


CLASSIFIER = dict(
    type='ImageClassifier',
    backbone=dict(type='CifarResNet', depth=8, num_filters=(8, 8, 16, 32),
                  in_channels=1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=32,
              loss=dict(type='CrossEntropyLoss')))


def data_settings(root):
    """Config text of the digits data: augmented train, plain test."""
    return f"""
default_scope = 'mmpretrain'
custom_imports = dict(imports=['projkd_mm'], allow_failed_imports=False)
data_preprocessor = dict(num_classes=10, mean=[30.0], std=[70.0],
                         to_rgb=False)
_digits = dict(type='FashionMNIST', data_root={str(root)!r},
               download=False)
train_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**_digits, split='train', pipeline=[
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs')]))
test_dataloader = dict(
    batch_size=128, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**_digits, split='test', test_mode=True,
                 pipeline=[dict(type='PackInputs')]))
"""


@pytest.fixture(scope='module')
def plain_config(digits_idx_root):
    path = osp.join(digits_idx_root, 'plain_cfg.py')
    with open(path, 'w') as f:
        f.write(data_settings(digits_idx_root) + f'model = {CLASSIFIER!r}\n')
    return path


@pytest.fixture(scope='module')
def distill_config(digits_idx_root):
    classifier = dict(CLASSIFIER, _scope_='mmpretrain')
    path = osp.join(digits_idx_root, 'distill_cfg.py')
    with open(path, 'w') as f:
        f.write(
            data_settings(digits_idx_root) +
            f"model = dict(_scope_='mmrazor', "
            f"type='CheckedSingleTeacherDistill', "
            f'architecture={classifier!r}, teacher={classifier!r}, '
            f"teacher_ckpt=None, distiller=dict(type='ConfigurableDistiller'))"
            '\n')
    return path


def random_classifier_state(seed):
    from mmpretrain.registry import MODELS

    import projkd_mm  # noqa: F401
    torch.manual_seed(seed)
    model = MODELS.build(CLASSIFIER)
    model.init_weights()
    return model.state_dict()


@pytest.fixture(scope='module')
def checkpoints(digits_idx_root):
    """Random student/teacher weights as plain and as Runner checkpoints."""
    student, teacher = random_classifier_state(0), random_classifier_state(1)
    paths = {}

    def save(name, obj):
        paths[name] = osp.join(digits_idx_root, f'{name}.pth')
        torch.save(obj, paths[name])

    save('student', student)
    save('teacher', {'meta': {}, 'state_dict': teacher})
    projector = {'distiller.connectors.projector.projectors.0.weight':
                 torch.randn(32, 32)}
    # A student identical to its teacher: the degenerate end of the claim.
    save('runner_identical', {'meta': {'epoch': 1}, 'state_dict': {
        **{f'architecture.{k}': v for k, v in teacher.items()},
        **{f'teacher.{k}': v for k, v in teacher.items()}, **projector}})
    save('runner_no_student', {'state_dict': {
        **{f'teacher.{k}': v for k, v in teacher.items()}, **projector}})
    return paths


# --------------------------------------------------------------- linear CKA
def test_cka_of_a_feature_set_with_itself_is_one():
    x = torch.randn(500, 64)
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-10)


def test_cka_is_invariant_to_orthogonal_transforms_and_isotropic_scaling():
    torch.manual_seed(0)
    x = torch.randn(400, 24)
    y = x[:, :16] @ torch.randn(16, 16) + 0.5 * torch.randn(400, 16)
    q_x, _ = torch.linalg.qr(torch.randn(24, 24, dtype=torch.float64))
    q_y, _ = torch.linalg.qr(torch.randn(16, 16, dtype=torch.float64))
    reference = linear_cka(x, y)
    assert 0.1 < reference < 0.99
    assert linear_cka(x.double() @ q_x, y.double() @ q_y) == pytest.approx(
        reference, abs=1e-9)
    assert linear_cka(7.5 * x, 0.01 * y) == pytest.approx(reference,
                                                          abs=1e-9)
    assert linear_cka(x, x.double() @ q_x) == pytest.approx(1.0, abs=1e-9)


def test_cka_of_independent_features_is_near_zero():
    torch.manual_seed(0)
    x, y = torch.randn(2000, 32), torch.randn(2000, 32)
    assert linear_cka(x, y) < 0.1


def test_cka_is_symmetric_and_within_unit_interval_for_any_widths():
    torch.manual_seed(0)
    for d1, d2 in [(1, 1), (8, 256), (64, 3)]:
        x = torch.relu(torch.randn(300, d1))
        y = torch.relu(x[:, :1] + torch.randn(300, d2))
        value = linear_cka(x, y)
        assert 0.0 <= value <= 1.0
        assert value == pytest.approx(linear_cka(y, x), abs=1e-12)


def test_cka_rejects_mismatched_samples_and_constant_features():
    with pytest.raises(ValueError, match='same N'):
        linear_cka(torch.randn(10, 3), torch.randn(11, 3))
    with pytest.raises(ValueError, match='constant'):
        linear_cka(torch.randn(10, 3), torch.ones(10, 3))


# ---------------------------------------------------------------------- ECE
def test_ece_is_zero_for_confident_correct_one_hot_predictions():
    labels = torch.tensor([0, 2, 1, 2, 0])
    probs = F.one_hot(labels, 3).double()
    assert expected_calibration_error(probs, labels) == 0.0


def test_ece_matches_a_hand_computed_example():
    # 5 bins of width 0.2. Confidences 0.9 (right), 0.7 (wrong),
    # 0.65 (right), 0.55 (right):
    # bin (0.8, 1]: 1/4 * |1 - 0.9|        = 0.025
    # bin (0.6, 0.8]: 2/4 * |0.5 - 0.675|  = 0.0875
    # bin (0.4, 0.6]: 1/4 * |1 - 0.55|     = 0.1125   -> ECE = 0.225
    probs = torch.tensor([[0.9, 0.1], [0.7, 0.3], [0.35, 0.65], [0.55, 0.45]])
    labels = torch.tensor([0, 1, 1, 0])
    assert expected_calibration_error(probs, labels, n_bins=5) == \
        pytest.approx(0.225, abs=1e-6)
    # Logits (log-probabilities) give the same figure after their softmax.
    assert expected_calibration_error(probs.log(), labels, n_bins=5) == \
        pytest.approx(0.225, abs=1e-6)
    bins = calibration_bins(probs, labels, n_bins=5)
    assert bins['count'].tolist() == [0, 0, 1, 2, 1]
    assert math.isnan(bins['accuracy'][0])


def test_ece_is_the_weighted_gap_of_the_reliability_bins():
    # The figure (torchmetrics) and the diagram (calibration_bins) agree:
    # sum over bins of |B_m|/N * |acc - conf|, on over-confident logits.
    g = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(4000, 10, generator=g)
    labels = torch.randint(0, 10, (4000, ), generator=g)
    bins = calibration_bins(logits, labels, n_bins=15)
    filled = bins['count'] > 0
    by_hand = float((bins['count'][filled] * (
        bins['accuracy'][filled] - bins['confidence'][filled]).abs()).sum()
                    / bins['count'].sum())
    assert by_hand > 0.3
    assert expected_calibration_error(logits, labels) == pytest.approx(
        by_hand, abs=1e-5)
    with pytest.raises(ValueError, match='n_bins'):
        expected_calibration_error(logits, labels, n_bins=0)
    with pytest.raises(ValueError, match=r'\(N,\)'):
        expected_calibration_error(logits, labels[:-1])


# -------------------------------------------------------- feature extraction
def test_extract_outputs_returns_neck_features_and_head_logits():
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample

    import projkd_mm  # noqa: F401
    torch.manual_seed(0)
    model = MODELS.build(
        dict(CLASSIFIER,
             data_preprocessor=dict(mean=[30.0], std=[70.0])))
    images = [torch.randint(0, 255, (1, 28, 28), dtype=torch.uint8)
              for _ in range(6)]
    batches = [
        dict(inputs=images[i:i + 3],
             data_samples=[DataSample().set_gt_label(c)
                           for c in range(i, i + 3)]) for i in (0, 3)
    ]
    out = extract_outputs({'m': model}, batches)['m']
    assert out.feats.shape == (6, 32) and out.logits.shape == (6, 10)
    assert out.labels.tolist() == [0, 1, 2, 3, 4, 5]
    with torch.no_grad():
        inputs = (torch.stack(images).float() - 30.0) / 70.0
        assert torch.allclose(out.feats, model.extract_feat(inputs)[0],
                              atol=1e-5)
        assert torch.allclose(out.logits, model(inputs, mode='tensor'),
                              atol=1e-5)
    assert not model.training


# ----------------------------------------------------------------------- CLI
def test_train_split_uses_the_test_pipeline(distill_config):
    from mmengine.config import Config
    tool = load_tool('feature_similarity')
    cfg = Config.fromfile(distill_config)
    loader, dataset = tool.dataset_cfg(cfg, 'train')
    assert dataset['split'] == 'train' and not dataset.get('test_mode')
    assert dataset['pipeline'] == [dict(type='PackInputs')]
    assert loader['batch_size'] == 128


def test_cli_measures_a_plain_student_against_a_teacher_checkpoint(
        plain_config, checkpoints, tmp_path, capsys):
    tool = load_tool('feature_similarity')
    out = tmp_path / 'out'
    tool.main([plain_config, checkpoints['student'], '--teacher-ckpt',
               checkpoints['teacher'], '--split', 'both', '--out-dir',
               str(out)])
    result = json.loads((out / 'feature_similarity.json').read_text())
    assert (out / 'feature_similarity.png').stat().st_size > 0
    assert result['teacher_checkpoint'] == checkpoints['teacher']
    train, test = result['splits']['train'], result['splits']['test']
    assert (train['num_samples'], test['num_samples']) == (NUM_TRAIN,
                                                          NUM_TEST)
    for split in (train, test):
        assert 0.0 <= split['cka'] <= 1.0
        for key in ('student_top1', 'teacher_top1'):
            assert 0.0 <= split[key] <= 100.0
        assert 0.0 <= split['student_ece'] <= 1.0
    assert result['student_train_test_gap'] == pytest.approx(
        train['student_top1'] - test['student_top1'])
    assert math.isfinite(result['student_train_test_gap'])
    printed = capsys.readouterr().out
    assert f"test/cka={test['cka']:.4f}" in printed
    assert 'student_train_test_gap=' in printed


def test_cli_on_a_runner_checkpoint_whose_student_is_the_teacher(
        distill_config, checkpoints, tmp_path):
    tool = load_tool('feature_similarity')
    result = tool.main([
        distill_config, checkpoints['runner_identical'], '--split', 'test',
        '--max-samples', '100', '--out-dir', str(tmp_path)
    ])
    test = result['splits']['test']
    assert test['num_samples'] == 100
    assert test['cka'] == pytest.approx(1.0, abs=1e-6)
    assert test['student_top1'] == test['teacher_top1']
    assert result['teacher_checkpoint'].endswith('(teacher.*)')
    assert 'student_train_test_gap' not in result


def test_summary_tables_several_methods(plain_config, distill_config,
                                        checkpoints, tmp_path):
    tool = load_tool('feature_similarity')
    summarize = load_tool('summarize_similarity')
    jsons = []
    for name, cfg, args in [
        ('a', plain_config, [checkpoints['student'], '--teacher-ckpt',
                             checkpoints['teacher']]),
        ('b', distill_config, [checkpoints['runner_identical']]),
    ]:
        tool.main([cfg, *args, '--max-samples', '64', '--out-dir',
                   str(tmp_path / name)])
        jsons.append(str(tmp_path / name / 'feature_similarity.json'))
    table = summarize.main([*jsons, '--labels', 'random', 'copy',
                            '--out-dir', str(tmp_path)])
    rows = table.strip().splitlines()
    assert len(rows) == 4 and rows[2].startswith('| random |')
    assert rows[3].startswith('| copy | 1.0000 |')
    assert (tmp_path / 'similarity_summary.md').read_text() == table
    assert (tmp_path / 'similarity_summary.png').stat().st_size > 0


@pytest.mark.parametrize('case, message', [
    ('missing', 'does not exist'),
    ('no_student', 'without student weights'),
    ('not_classifier', 'not an mmpretrain ImageClassifier'),
    ('no_teacher', 'No teacher weights'),
])
def test_cli_errors_say_what_is_wrong(case, message, plain_config,
                                      distill_config, checkpoints, tmp_path):
    tool = load_tool('feature_similarity')
    config, ckpt = distill_config, checkpoints['runner_identical']
    extra = []
    if case == 'missing':
        ckpt = str(tmp_path / 'nope.pth')
    elif case == 'no_student':
        ckpt = checkpoints['runner_no_student']
    elif case == 'not_classifier':
        config = str(tmp_path / 'backbone_only.py')
        with open(config, 'w') as f:
            f.write(f"default_scope = 'mmpretrain'\n"
                    f"model = {CLASSIFIER['backbone']!r}\n")
        ckpt, extra = checkpoints['student'], ['--teacher-ckpt',
                                               checkpoints['teacher']]
    elif case == 'no_teacher':
        config, ckpt = plain_config, checkpoints['student']
    with pytest.raises(SystemExit, match=message):
        tool.main([config, ckpt, '--out-dir', str(tmp_path), *extra])
