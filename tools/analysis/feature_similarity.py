"""How close a distilled student's features are to its teacher's (CKA), and
how well the student generalises and is calibrated.

    python tools/analysis/feature_similarity.py CONFIG CHECKPOINT
        [--teacher-ckpt PATH] [--teacher-config CONFIG]
        [--split test|train|both] [--max-samples N] [--out-dir DIR]
        [--device DEVICE] [--cfg-options k=v ...]

The evidence of Chen et al., "Improved Feature Distillation via Projector
Ensemble", NeurIPS 2022: without a projector the student's penultimate
features become too similar to the teacher's and it generalises worse.
Per split this measures linear CKA(student, teacher), student and teacher
top-1, their ECE; with ``--split both`` also the train-test top-1 gap.

CONFIG is a distillation config (``model.architecture`` is the student,
``model.teacher`` the teacher) or a plain mmpretrain classifier config (the
student; the teacher is ``--teacher-config``'s model, or the same
architecture without it). CHECKPOINT is a distillation Runner checkpoint
(``architecture.*`` is the student, ``teacher.*`` the teacher) or a plain
student checkpoint. The teacher's weights are, first found:
``--teacher-ckpt``, the ``teacher.*`` entries of CHECKPOINT,
``model.teacher_ckpt`` of a distillation config.

Both models see the preprocessing they were trained with: in a
distillation config the algorithm's (``model.data_preprocessor``, else the
config's top-level ``data_preprocessor``), which MMRazor applies once for
student and teacher; in a plain config the model's own, else the top-level
one, as MMEngine's Runner does.

The train split is measured WITHOUT augmentation: it is the
``train_dataloader``'s dataset (split, annotation files, ``test_mode``,
``indices``) with the ``test_dataloader``'s pipeline, loaded with the
``test_dataloader``'s batch size, workers and (unshuffled) sampler. So the
train-test gap compares like with like. ``--max-samples`` keeps a fixed
random subset (seed 0) of each split, the same one on every run.

Writes ``<out-dir>/feature_similarity.json`` and
``<out-dir>/feature_similarity.png`` and prints ``name=value`` lines.
Compare several runs with ``tools/analysis/summarize_similarity.py``.
"""
import argparse
import copy
import json
import math
import os
import os.path as osp
import sys
from typing import Dict, Optional, Tuple

sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='CKA of student vs teacher features, train-test gap '
        'and calibration of a distilled student')
    parser.add_argument(
        'config', help='distillation config, or plain mmpretrain classifier '
        'config of the student')
    parser.add_argument(
        'checkpoint', help='distillation Runner checkpoint (architecture.* '
        'and teacher.*) or plain student checkpoint')
    parser.add_argument(
        '--teacher-ckpt',
        help="teacher weights; default: CHECKPOINT's teacher.* entries, "
        "else the config's model.teacher_ckpt")
    parser.add_argument(
        '--teacher-config',
        help='config whose model is the teacher (its model.teacher if it is '
        'a distillation config); default: CONFIG (with a plain config: '
        'the same architecture as the student)')
    parser.add_argument(
        '--split',
        choices=['test', 'train', 'both'],
        default='both',
        help='which split(s) to measure; the train-test gap needs both')
    parser.add_argument(
        '--max-samples',
        type=int,
        help='measure a fixed random subset (seed 0) of at most N samples '
        'per split; default: the whole split')
    parser.add_argument(
        '--out-dir',
        help='where the JSON and PNG go; default: '
        'work_dirs/analysis/<config name>')
    parser.add_argument(
        '--device',
        help='device to run the models on (default: cuda if available)')
    # 'KEY=VALUE' strings here (extended like MMEngine's DictAction when
    # given twice); run() reads them with DictAction.
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action='extend',
        help='override settings of CONFIG, e.g. '
        'test_dataloader.batch_size=256 model.teacher_ckpt=/x.pth')
    args = parser.parse_args(argv)
    if args.max_samples is not None and args.max_samples < 2:
        parser.error(f'--max-samples must be >= 2, got {args.max_samples}')
    return args


if __name__ == '__main__':
    # Answer --help and argument errors before the heavy imports below;
    # main() parses the same arguments again.
    parse_args()

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402

import projkd_mm  # noqa: E402,F401  (compat layer + registries)
from projkd_mm.analysis import (  # noqa: E402
    calibration_bins,
    expected_calibration_error,
    extract_outputs,
    linear_cka,
)
from projkd_mm.utils.safe_load import CheckpointError, load_checkpoint_file  # noqa: E402
from projkd_mm.utils.state_dict import (  # noqa: E402
    STUDENT_PREFIX,
    TEACHER_PREFIX,
    extract_state_dict,
    load_state_dict_strict,
    split_state_dict,
)

ECE_BINS = 15
SUBSET_SEED = 0


class AnalysisError(ValueError):
    """A config or argument this tool cannot work with, with the fix."""


def _plain(node) -> dict:
    """A deep, plain-dict copy of a (Config)dict."""
    return copy.deepcopy(node.to_dict() if hasattr(node, 'to_dict') else
                         dict(node))


def is_distill_config(cfg: Config) -> bool:
    return 'architecture' in cfg.get('model', {})


def classifier_cfg(cfg: Config, role: str, path: str) -> dict:
    """The model dict of the student or teacher, with its preprocessing.

    Args:
        cfg (Config): A distillation or plain classifier config.
        role (str): ``'student'`` or ``'teacher'``.
        path (str): The config's file, for the error messages.

    Returns:
        dict: An mmpretrain model config with a ``data_preprocessor``
        when the config defines one.
    """
    model = cfg.get('model')
    if not isinstance(model, dict):
        raise AnalysisError(f'{path} has no model dict.')
    if is_distill_config(cfg):
        key = 'architecture' if role == 'student' else 'teacher'
        part = model.get(key)
        if part is None:
            raise AnalysisError(
                f'{path} is a distillation config without model.{key}.')
        # The algorithm preprocesses once for student and teacher.
        preprocessor = model.get('data_preprocessor',
                                 cfg.get('data_preprocessor'))
    else:
        part, preprocessor = model, cfg.get('data_preprocessor')
    if not isinstance(part, dict) or 'cfg_path' in part:
        raise AnalysisError(
            f"The {role} of {path} is given by reference (cfg_path), which "
            'this tool does not follow: write the classifier inline, as in '
            'configs/projkd/.')
    part = _plain(part)
    if preprocessor is not None:
        preprocessor = _plain(preprocessor)
        if is_distill_config(cfg):
            part['data_preprocessor'] = preprocessor
        else:
            part.setdefault('data_preprocessor', preprocessor)
    return part


def build_classifier(model_cfg: dict, what: str) -> torch.nn.Module:
    """Build an mmpretrain ImageClassifier or explain why it is not one."""
    from mmpretrain.models import ImageClassifier
    from mmpretrain.registry import MODELS

    model_type = model_cfg.get('type')
    model = MODELS.build(model_cfg)
    if not isinstance(model, ImageClassifier):
        raise AnalysisError(
            f'The {what} is a {model_type!r} ({type(model).__name__}), not '
            'an mmpretrain ImageClassifier. CONFIG must be a distillation '
            'config (model.architecture / model.teacher are classifiers) '
            "or a classifier config (model.type='ImageClassifier').")
    return model


def read_weights(checkpoint: str) -> Tuple[Dict, Optional[Dict]]:
    """Student and (if present) teacher state dicts of CHECKPOINT."""
    what = f'checkpoint (CHECKPOINT argument {checkpoint!r})'
    state_dict = extract_state_dict(load_checkpoint_file(checkpoint, what),
                                    what)

    student = split_state_dict(state_dict, STUDENT_PREFIX)
    teacher = split_state_dict(state_dict, TEACHER_PREFIX)
    if not student:
        if teacher or split_state_dict(state_dict, 'distiller.'):
            raise CheckpointError(
                f'The {what} is a distillation checkpoint without student '
                'weights (no architecture.* keys, only teacher.* / '
                'distiller.*). Pass a checkpoint written by the Runner '
                'during distillation, or an exported student.')
        student = dict(state_dict)
    return student, teacher or None


def teacher_weights(args, cfg: Config,
                    from_checkpoint: Optional[Dict]) -> Tuple[Dict, str]:
    """The teacher's state dict and a description of where it came from."""
    if args.teacher_ckpt:
        path = args.teacher_ckpt
        what = f'teacher checkpoint (--teacher-ckpt {path!r})'
    elif from_checkpoint is not None:
        return from_checkpoint, f'{args.checkpoint} (teacher.*)'
    elif is_distill_config(cfg) and cfg.model.get('teacher_ckpt'):
        path = cfg.model.teacher_ckpt
        what = f'teacher checkpoint (model.teacher_ckpt={path!r})'
    else:
        raise CheckpointError(
            'No teacher weights: CHECKPOINT has no teacher.* entries and '
            'the config sets no model.teacher_ckpt. Pass --teacher-ckpt.')
    return extract_state_dict(load_checkpoint_file(path, what), what), path


def dataset_cfg(cfg: Config, split: str) -> Tuple[dict, dict]:
    """Dataloader settings and the dataset config of a split.

    Both splits use the test dataloader's settings and pipeline; the train
    split swaps in the training dataset (see the module docstring).
    """
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if not loader:
        raise AnalysisError('The config has no test_dataloader (nor '
                            'val_dataloader) to read the data settings from.')
    loader = _plain(loader)
    dataset = loader.pop('dataset')
    if split == 'train':
        if not cfg.get('train_dataloader'):
            raise AnalysisError('--split train/both needs a train_dataloader '
                                'in the config.')
        train = _plain(cfg.train_dataloader.dataset)
        # Single-dataset wrappers (RepeatDataset, ClassBalancedDataset).
        while 'pipeline' not in train and isinstance(
                train.get('dataset'), dict):
            train = train['dataset']
        if 'pipeline' not in train:
            raise AnalysisError(
                'train_dataloader.dataset is a wrapper of several datasets; '
                'give a single dataset with --cfg-options '
                'train_dataloader.dataset=...')
        train['pipeline'] = dataset['pipeline']
        dataset = train
    return loader, dataset


def build_loader(cfg: Config, split: str, max_samples: Optional[int]):
    from mmengine.registry import DATASETS
    from mmengine.runner import Runner

    loader, dataset_dict = dataset_cfg(cfg, split)
    dataset = DATASETS.build(dataset_dict)
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    if max_samples is not None and len(dataset) > max_samples:
        generator = torch.Generator().manual_seed(SUBSET_SEED)
        keep = torch.randperm(len(dataset), generator=generator)[:max_samples]
        dataset = torch.utils.data.Subset(dataset, keep.sort().values.tolist())
    loader['dataset'] = dataset
    loader['sampler'] = dict(type='DefaultSampler', shuffle=False)
    return Runner.build_dataloader(loader, seed=SUBSET_SEED)


def measure_split(student, teacher, loader) -> dict:
    """All figures of one split."""
    outs = extract_outputs({'student': student, 'teacher': teacher}, loader)
    s, t = outs['student'], outs['teacher']
    bins = calibration_bins(s.logits, s.labels, ECE_BINS)

    def listed(values):
        return [None if math.isnan(v) else v for v in values.tolist()]

    return dict(
        num_samples=len(s.labels),
        cka=linear_cka(s.feats, t.feats),
        student_top1=s.top1,
        teacher_top1=t.top1,
        student_ece=expected_calibration_error(s.logits, s.labels, ECE_BINS),
        teacher_ece=expected_calibration_error(t.logits, t.labels, ECE_BINS),
        student_reliability=dict(
            upper=listed(bins['upper']),
            count=listed(bins['count']),
            accuracy=listed(bins['accuracy']),
            confidence=listed(bins['confidence'])),
        student_feat_dim=s.feats.shape[1],
        teacher_feat_dim=t.feats.shape[1])


def plot(results: dict, path: str) -> None:
    """CKA per split, top-1 per split and model, reliability diagram."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    splits = list(results['splits'])
    fig, (ax_cka, ax_acc, ax_rel) = plt.subplots(1, 3, figsize=(14, 4))

    ckas = [results['splits'][s]['cka'] for s in splits]
    ax_cka.bar(splits, ckas, color='tab:purple')
    ax_cka.set_ylim(0, 1)
    ax_cka.set_ylabel('linear CKA(student, teacher)')
    ax_cka.set_title('Feature similarity to the teacher')
    for i, v in enumerate(ckas):
        ax_cka.text(i, v, f'{v:.3f}', ha='center', va='bottom')

    width = 0.35
    for j, who in enumerate(('student', 'teacher')):
        accs = [results['splits'][s][f'{who}_top1'] for s in splits]
        xs = [i + (j - 0.5) * width for i in range(len(splits))]
        ax_acc.bar(xs, accs, width, label=who)
        for x, v in zip(xs, accs):
            ax_acc.text(x, v, f'{v:.1f}', ha='center', va='bottom')
    ax_acc.set_xticks(range(len(splits)), splits)
    ax_acc.set_ylim(0, 115)
    ax_acc.set_ylabel('top-1 (%)')
    gap = results.get('student_train_test_gap')
    ax_acc.set_title('Top-1' + ('' if gap is None else
                                f' (student train-test gap {gap:.2f} pp)'))
    ax_acc.legend(loc='upper center', ncol=2)

    split = 'test' if 'test' in splits else splits[0]
    rel = results['splits'][split]['student_reliability']
    filled = [i for i, c in enumerate(rel['count']) if c]
    width = 1.0 / len(rel['upper'])
    lefts = [rel['upper'][i] - width for i in filled]
    ax_rel.bar(lefts, [rel['accuracy'][i] for i in filled], width,
               align='edge', edgecolor='black', label='accuracy')
    ax_rel.plot([0, 1], [0, 1], 'k--', label='perfect calibration')
    ax_rel.plot([rel['upper'][i] - width / 2 for i in filled],
                [rel['confidence'][i] for i in filled], 'r.',
                label='mean confidence')
    ax_rel.set_xlim(0, 1)
    ax_rel.set_ylim(0, 1)
    ax_rel.set_xlabel('confidence')
    ax_rel.set_ylabel('accuracy')
    ece = results['splits'][split]['student_ece']
    ax_rel.set_title(f'Student reliability, {split} (ECE {100 * ece:.2f}%)')
    ax_rel.legend(loc='upper left')

    fig.suptitle(osp.basename(results['checkpoint']))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(args: argparse.Namespace) -> dict:
    """Measure, write the JSON and the PNG; return the results."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        options = argparse.Namespace()
        DictAction(option_strings=['--cfg-options'], dest='cfg_options')(
            None, options, args.cfg_options)
        cfg.merge_from_dict(options.cfg_options)
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))

    student_sd, teacher_from_ckpt = read_weights(args.checkpoint)
    teacher_sd, teacher_source = teacher_weights(args, cfg, teacher_from_ckpt)

    teacher_cfg_path = args.teacher_config or args.config
    teacher_cfg = (Config.fromfile(args.teacher_config)
                   if args.teacher_config else cfg)
    student = build_classifier(
        classifier_cfg(cfg, 'student', args.config),
        f'student of {args.config}')
    teacher = build_classifier(
        classifier_cfg(teacher_cfg, 'teacher', teacher_cfg_path),
        f'teacher of {teacher_cfg_path}')
    load_state_dict_strict(student, student_sd,
                           f'student weights of {args.checkpoint!r}')
    load_state_dict_strict(teacher, teacher_sd,
                           f'teacher weights of {teacher_source!r}')
    student.to(args.device)
    teacher.to(args.device)

    splits = ['train', 'test'] if args.split == 'both' else [args.split]
    results = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        teacher_config=teacher_cfg_path,
        teacher_checkpoint=teacher_source,
        max_samples=args.max_samples,
        ece_bins=ECE_BINS,
        splits={
            split: measure_split(student, teacher,
                                 build_loader(cfg, split, args.max_samples))
            for split in splits
        })
    if args.split == 'both':
        for who in ('student', 'teacher'):
            results[f'{who}_train_test_gap'] = (
                results['splits']['train'][f'{who}_top1'] -
                results['splits']['test'][f'{who}_top1'])

    out_dir = args.out_dir or osp.join(
        'work_dirs', 'analysis',
        osp.splitext(osp.basename(args.config))[0])
    os.makedirs(out_dir, exist_ok=True)
    json_path = osp.join(out_dir, 'feature_similarity.json')
    png_path = osp.join(out_dir, 'feature_similarity.png')
    with open(json_path, 'w') as f:
        json.dump(results, f, indent=2)
    plot(results, png_path)

    for split, figures in results['splits'].items():
        for name in ('num_samples', 'cka', 'student_top1', 'teacher_top1',
                     'student_ece'):
            value = figures[name]
            text = str(value) if isinstance(value, int) else f'{value:.4f}'
            print(f'{split}/{name}={text}')
    if args.split == 'both':
        print('student_train_test_gap='
              f"{results['student_train_test_gap']:.4f}")
    print(f'json={json_path}')
    print(f'png={png_path}')
    return results


def main(argv=None) -> dict:
    args = parse_args(argv)
    try:
        return run(args)
    except (AnalysisError, CheckpointError) as err:
        raise SystemExit(f'feature_similarity.py: error: {err}') from err


if __name__ == '__main__':
    main()
