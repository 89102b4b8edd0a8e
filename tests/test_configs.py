"""Every config in configs/ loads and its model builds through the
registries, with the real mmpretrain models."""
import copy
import functools
import glob
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.registry import LOOPS
from mmrazor.registry import MODELS as RAZOR_MODELS

from projkd_mm.engine import FrozenTeacherDistillValLoop
from projkd_mm.utils.build import build_model

CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


@functools.lru_cache(maxsize=None)
def _parsed(path: str) -> Config:
    return Config.fromfile(path)


def load(path: str) -> Config:
    """A config of configs/, parsed once per process (three tests read
    each): a copy, so that a test may change it."""
    return copy.deepcopy(_parsed(path))


def test_configs_are_found():
    names = {osp.basename(p) for p in CONFIGS}
    for method in ('pefd', 'pefd-q1', 'pefd-noproj', 'kd'):
        assert f'{method}_resnet34_resnet18_100e_in1k.py' in names


def _local_teacher_checkpoint(cfg, tmp_path) -> str:
    """The teacher's own (seeded) weights, standing in for the download."""
    torch.manual_seed(0)
    teacher = RAZOR_MODELS.build(cfg.model.teacher)
    path = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, path)
    return path


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, REPO) for p in CONFIGS])
def test_config_builds(path, tmp_path):
    cfg = load(path)
    assert cfg.custom_imports == dict(imports=['projkd_mm'],
                                      allow_failed_imports=False)
    if 'teacher' in cfg.model:
        model = build_model(
            cfg, teacher_ckpt=_local_teacher_checkpoint(cfg, tmp_path))
        assert type(model).__name__ == 'CheckedSingleTeacherDistill'
        assert model.distiller.distill_losses  # something is distilled
        # The frozen teacher is validated once per process.
        assert cfg.val_cfg.type == 'FrozenTeacherDistillValLoop'
        assert LOOPS.get(cfg.val_cfg.type) is FrozenTeacherDistillValLoop
    else:
        model = build_model(cfg)
    assert sum(p.numel() for p in model.parameters()) > 0


IMAGENET = osp.join(REPO, 'configs', 'projkd', 'imagenet')


def test_imagenet_recipe_matches_the_paper():
    cfg = load(osp.join(IMAGENET, 'pefd_resnet34_resnet18_100e_in1k.py'))
    assert cfg.model.architecture.backbone.depth == 18
    assert cfg.model.teacher.backbone.depth == 34
    assert cfg.model.teacher_ckpt.startswith('https://download.openmmlab')
    connector = cfg.model.distiller.connectors.projector
    assert (connector.in_channels, connector.out_channels,
            connector.num_projectors) == (512, 512, 3)
    loss = cfg.model.distiller.distill_losses.loss_pefd
    assert (loss.type, loss.loss_weight, loss.normalize,
            loss.reduction) == ('FeatureMSELoss', 12.5, True, 'batchmean')
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', 0.1, 0.9, 1e-4)
    assert cfg.param_scheduler.milestones == [30, 60, 90]
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.train_dataloader.batch_size * 8 == 256
    assert cfg.auto_scale_lr.base_batch_size == 256
    assert cfg.val_cfg.type == 'FrozenTeacherDistillValLoop'


def test_ablations_differ_from_ens3_only_in_the_distiller():
    base = load(osp.join(IMAGENET, 'pefd_resnet34_resnet18_100e_in1k.py'))

    def kd(d):
        return (d.distill_losses.loss_kd.type == 'KLDivergence'
                and 'loss_pefd' not in d.distill_losses)

    for name, check, kl_weight, ce_weight in (
            ('pefd-q1', lambda d: d.connectors.projector.num_projectors == 1,
             None, 1.0),
            ('pefd-noproj', lambda d: not d.connectors and 'connector' not in
             d.loss_forward_mappings.loss_pefd.s_feature, None, 1.0),
            # The reference's KD baseline: CE 0.1 + KL 0.9; Hinton's 1 + 1.
            ('kd', kd, 0.9, 0.1),
            ('kd-hinton', kd, 1.0, 1.0)):
        cfg = load(
            osp.join(IMAGENET, f'{name}_resnet34_resnet18_100e_in1k.py'))
        distiller = cfg.model.distiller
        assert check(distiller), name
        if kl_weight is not None:
            assert distiller.distill_losses.loss_kd.loss_weight == kl_weight
        head = cfg.model.architecture.head
        assert head.loss.loss_weight == ce_weight, name
        head.loss.loss_weight = 1.0
        for key in ('architecture', 'teacher', 'teacher_ckpt'):
            assert cfg.model[key] == base.model[key]
        assert cfg.optim_wrapper == base.optim_wrapper


def test_distillation_configs_run_their_frozen_teacher_cheaply():
    distill = [p for p in CONFIGS
               if load(p).model.get('type') ==
               'CheckedSingleTeacherDistill']
    assert len(distill) >= 20
    for path in distill:
        model = load(path).model
        mode = (model.teacher_dtype, model.teacher_memory_format)
        # The exact (fp32) and bf16 controls are rows of the study, this
        # mode turned by cfg-options: tests/test_study.py.
        assert mode == ('auto', 'channels_last'), path


# Top-level keys MMEngine's Runner, mmpretrain/mmrazor tools or the configs'
# own `_base_.<name>` references read. Anything else is a key nothing reads.
RUNNER_KEYS = {
    'model', 'data_preprocessor', 'train_dataloader', 'val_dataloader',
    'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg', 'val_evaluator',
    'test_evaluator', 'optim_wrapper', 'param_scheduler', 'default_hooks',
    'custom_hooks', 'env_cfg', 'log_processor', 'log_level', 'load_from',
    'resume', 'randomness', 'default_scope', 'visualizer', 'vis_backends',
    'launcher', 'work_dir', 'custom_imports', 'auto_scale_lr', 'runner_type',
    'dataset_type', 'data_root',  # variables of the dataset bases
    'bgr_mean', 'bgr_std',  # mmpretrain's imagenet_bs64_swin_224.py
    'train_pipeline', 'test_pipeline',  # read by the dataloaders' bases
    # read as _base_.<name> by the child configs:
    'student_model', 'teacher_model', 'noproj_mappings', 'kd_distiller',
    'kd_distiller_reference', 'narrow_student_model', 'vit_student_model',
    'stage2_distiller',
    # the networks of configs/_base_/models/{cifar100,imagenet}_nets.py and
    # the schedule of configs/_base_/schedules/cosine_lr.py, read as
    # _base_.<name>; the classifier that
    # configs/_base_/models/pefd_linear_classifiers.py uses twice:
    'cifar100_nets', 'imagenet_nets', 'cosine_lr', 'linear_classifier',
    # configs/_base_/families/<family>.py (projkd_mm/families.py):
    'resnet_recorder', 'resnetv1d_recorder', 'mobilenetv2_recorder',
    'mobilenetv3_recorder', 'efficientnet_recorder', 'regnet_recorder',
    'convnext_recorder', 'vit_recorder', 'swin_recorder',
}


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, REPO) for p in CONFIGS])
def test_configs_have_no_dead_keys(path):
    keys = set(load(path).keys())
    assert not keys - RUNNER_KEYS, (
        f'top-level keys nothing reads: {sorted(keys - RUNNER_KEYS)}')
