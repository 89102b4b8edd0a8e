"""FrozenTeacherDistillValLoop: a frozen teacher is validated once.

Real models, the real MMRazor distiller and the real MMEngine Runner on
scikit-learn's digits (see conftest.py).
"""
import json
import os
import os.path as osp

import pytest
from conftest import PEFD_FMNIST, tiny_run_options
from mmengine.config import Config

# Both tests train through the Runner for several epochs.
pytestmark = pytest.mark.slow


def count_teacher_evaluations(runner):
    """Count the teacher's predict-mode forwards (validation batches)."""
    calls = []

    def hook(module, args, kwargs):
        if kwargs.get('mode') == 'predict':
            calls.append(1)

    runner.model.teacher.register_forward_pre_hook(hook, with_kwargs=True)
    return calls


def val_records(work_dir):
    records = []
    for path in sorted(osp.join(work_dir, d, 'vis_data', 'scalars.json')
                       for d in os.listdir(work_dir)
                       if osp.isdir(osp.join(work_dir, d, 'vis_data'))):
        with open(path) as f:
            records += [r for r in map(json.loads, f)
                        if 'accuracy/top1' in r]
    return records


def runner_for(work_dir, digits_root, teacher_ckpt, name, **options):
    from mmengine.registry import RUNNERS
    cfg = Config.fromfile(PEFD_FMNIST)
    # One training batch an epoch: what is counted is validation.
    cfg.merge_from_dict(tiny_run_options(digits_root, **{
        'model.teacher_ckpt': teacher_ckpt, 'train_cfg.max_epochs': 3,
        'train_dataloader.dataset.indices': 32, **options}))
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = name
    # As OpenMMLab's tools build it: the configs' runner_type.
    return RUNNERS.build(cfg)


def test_frozen_teacher_is_evaluated_once_per_process_and_after_resume(
        tmp_path, digits_root, teacher_ckpt):
    val_batches = 2  # 200 validation images, batches of 100
    runner = runner_for(tmp_path, digits_root, teacher_ckpt, 'first')
    calls = count_teacher_evaluations(runner)
    runner.train()
    assert len(calls) == val_batches  # three validations, one evaluation
    records = val_records(str(tmp_path))
    assert len(records) == 3
    teacher_top1 = [r['teacher.accuracy/top1'] for r in records]
    assert len(set(teacher_top1)) == 1
    # Not a constant: the students' accuracies are there beside it.
    assert all('accuracy/top1' in r for r in records)

    # A resumed run has no cached figure: it evaluates the teacher once.
    resumed = runner_for(tmp_path, digits_root, teacher_ckpt, 'resumed',
                         **{'train_cfg.max_epochs': 5, 'resume': True})
    calls = count_teacher_evaluations(resumed)
    resumed.train()
    assert len(calls) == val_batches
    records = val_records(str(tmp_path))
    assert len(records) == 5
    assert {r['teacher.accuracy/top1'] for r in records} == set(teacher_top1)


def test_trainable_teacher_is_evaluated_at_every_validation(
        tmp_path, digits_root, teacher_ckpt):
    runner = runner_for(tmp_path, digits_root, teacher_ckpt, 'trainable',
                        **{'model.teacher_trainable': True,
                           'model.teacher_dtype': 'fp32'})
    calls = count_teacher_evaluations(runner)
    runner.train()
    assert len(calls) == 3 * 2
    assert len(val_records(str(tmp_path))) == 3
