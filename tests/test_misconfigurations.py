"""Every misconfiguration of docs/misconfigurations.md, and its error.

Each case takes the Fashion-MNIST distillation config, makes one mistake a
person writing a config by hand makes, and builds what the Runner would
build (the model and one training forward pass, the dataset or the
optimizer). The error must be of the documented type and say the
documented phrase; the table in the docs and this list (with the
constructor's row of test_checked_constructor.py) must name the same
cases.
"""
import os.path as osp
import re
from types import SimpleNamespace

import pytest
import torch
from conftest import FMNIST_DIR, PEFD_FMNIST, REPO
from mmengine.config import Config
from mmengine.registry import DefaultScope
from test_checked_constructor import DOCUMENTED_CASES as CONSTRUCTOR_CASES

from projkd_mm.models.algorithms.width_inference import WidthInferenceError
from projkd_mm.utils.build import build_model
from projkd_mm.utils.safe_load import CheckpointError

DOC = osp.join(REPO, 'docs', 'misconfigurations.md')


def distiller(cfg):
    return cfg.model.distiller


def mapping(cfg, arg):
    return cfg.model.distiller.loss_forward_mappings.loss_pefd[arg]


def rename_recorders(cfg):
    d = distiller(cfg)
    d.student_recorders = dict(s_feat=d.student_recorders.feat)
    d.teacher_recorders = dict(t_feat=d.teacher_recorders.feat)
    mapping(cfg, 's_feature').recorder = 's_feat'


def logit_kd(cfg, student_classes):
    cfg.model.architecture.head.num_classes = student_classes
    logits = dict(logits=dict(type='ModuleOutputs', source='head.fc'))
    cfg.model.distiller = dict(
        type='ConfigurableDistiller',
        student_recorders=logits,
        teacher_recorders=logits,
        distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4)),
        loss_forward_mappings=dict(loss_kd=dict(
            preds_S=dict(from_student=True, recorder='logits'),
            preds_T=dict(from_student=False, recorder='logits'))))


def add_loss(cfg, name, loss, inputs):
    distiller(cfg).distill_losses[name] = loss
    distiller(cfg).loss_forward_mappings[name] = inputs


def rename_loss(cfg, old, new):
    d = distiller(cfg)
    d.distill_losses[new] = d.distill_losses.pop(old)
    d.loss_forward_mappings[new] = d.loss_forward_mappings.pop(old)


def rename_arg(cfg, old, new):
    inputs = distiller(cfg).loss_forward_mappings.loss_pefd
    inputs[new] = inputs.pop(old)


def set_data_root(cfg, root):
    cfg.train_dataloader.dataset.data_root = root


# (id, change(cfg, files), what is built, error type, phrase of the message)
CASES = [
    # Recorders
    ('unknown-student-recorder-source',
     lambda c, f: distiller(c).student_recorders.feat.update(
         source='neck.gapp'),
     'model', ValueError,
     "source 'neck.gapp' is not a module of the ImageClassifier it records. "
     "Closest names: 'neck.gap', 'neck'"),
    ('unknown-teacher-recorder-source',
     lambda c, f: distiller(c).teacher_recorders.feat.update(
         source='backbone.layer9'),
     'model', ValueError, "source 'backbone.layer9' is not a module"),
    ('recorder-type-typo',
     lambda c, f: distiller(c).student_recorders.feat.update(
         type='ModuleOutput'),
     'model', ValueError,
     "student_recorders.feat.type='ModuleOutput' is not a recorder type. "
     "Did you mean 'ModuleOutputs'"),
    ('recorder-type-with-suffix',
     lambda c, f: distiller(c).teacher_recorders.feat.update(
         type='ModuleOutputsRecorder'),
     'model', ValueError, "write type='ModuleOutputs'"),
    ('recorder-without-source',
     lambda c, f: distiller(c).student_recorders.feat.pop('source'),
     'model', ValueError, 'the recorder needs a source'),
    ('recorder-name-typo',
     lambda c, f: mapping(c, 's_feature').update(recorder='fet'),
     'model', ValueError,
     "s_feature.recorder='fet': there is no student recorder of that "
     "name. Did you mean 'feat'?"),
    ('student-recorder-read-with-from_student-false',
     lambda c, f: (rename_recorders(c),
                   mapping(c, 't_feature').update(recorder='s_feat')),
     'model', ValueError,
     "'s_feat' is a student recorder, but from_student=False"),
    ('from_student-contradicts-argument',
     lambda c, f: mapping(c, 's_feature').update(from_student=False),
     'model', ValueError,
     "by its name 's_feature' is the student's input, but "
     'from_student=False reads the teacher. Set from_student=True'),
    ('from_student-not-a-bool',
     lambda c, f: mapping(c, 't_feature').update(from_student='False'),
     'model', ValueError, 'from_student must be True (read a student '
     "recorder) or False (read a teacher recorder), got 'False'"),
    ('loss-with-teacher-inputs-only',
     lambda c, f: add_loss(
         c, 'loss_onehot', dict(type='OnehotLikeLoss'),
         dict(preds_T=dict(from_student=False, recorder='feat',
                           data_idx=0))),
     'model', ValueError,
     'every input has from_student=False, so the loss only sees the '
     'teacher'),
    ('tuple-output-without-data_idx',
     lambda c, f: mapping(c, 't_feature').pop('data_idx'),
     'model', ValueError, "the teacher's 'neck' returns a tuple"),
    ('data_idx-not-an-int',
     lambda c, f: mapping(c, 's_feature').update(data_idx='0'),
     'model', ValueError, "s_feature.data_idx must be an int, got '0'"),
    ('data_idx-out-of-range',
     lambda c, f: mapping(c, 's_feature').update(data_idx=1),
     'forward', IndexError,
     "ModuleOutputsRecorder of source 'neck' (fix it in "
     'model.distiller.loss_forward_mappings): data_idx=1, but the source '
     'returns a tuple of 1: use 0.'),
    ('data_idx-on-a-tensor',
     lambda c, f: (distiller(c).student_recorders.feat.update(
         source='neck.gap'), mapping(c, 's_feature').update(data_idx=0)),
     'forward', TypeError,
     'data_idx=0, but the source returns a single Tensor, not a tuple: '
     'remove data_idx'),
    ('record_idx-out-of-range',
     lambda c, f: mapping(c, 't_feature').update(record_idx=1),
     'forward', IndexError,
     "source 'neck' (fix it in model.distiller.loss_forward_mappings): "
     'record_idx=1, but the source ran 1 time(s) in this forward pass'),
    # Connectors
    ('connector-name-typo',
     lambda c, f: mapping(c, 's_feature').update(connector='projecter'),
     'model', ValueError,
     "connector='projecter': no connector of that name. Did you mean "
     "'projector'?"),
    ('connector-type-typo',
     lambda c, f: distiller(c).connectors.projector.update(
         type='ProjectorEnsemble'),
     'model', ValueError, "Did you mean 'ProjectorEnsembleConnector'?"),
    ('connector-in_channels-wrong',
     lambda c, f: distiller(c).connectors.projector.update(in_channels=32),
     'model', WidthInferenceError,
     'in_channels=32 in the config, but the dry forward pass on '
     'input_size=(1, 28, 28) finds 64. Set model.distiller.connectors.'
     'projector.in_channels=64'),
    ('connector-out_channels-wrong',
     lambda c, f: distiller(c).connectors.projector.update(out_channels=32),
     'model', WidthInferenceError,
     'out_channels=32 in the config, but the dry forward pass on '
     'input_size=(1, 28, 28) finds 64'),
    # Without model.input_size there is no dry run: the first step says it.
    ('connector-in_channels-wrong-no-input-size',
     lambda c, f: (distiller(c).connectors.projector.update(in_channels=32),
                   c.model.update(input_size=None)),
     'forward', ValueError,
     'expects student features of shape (N, 32) or (N, 32, H, W) but got '
     '(4, 64)'),
    ('connector-out_channels-wrong-no-input-size',
     lambda c, f: (distiller(c).connectors.projector.update(out_channels=32),
                   c.model.update(input_size=None)),
     'forward', ValueError,
     'has shape (4, 32) but the teacher feature has shape (4, 64)'),
    ('input_size-missing',
     lambda c, f: (distiller(c).connectors.projector.update(
         in_channels=None, out_channels=None),
                   c.model.update(input_size=None)),
     'model', WidthInferenceError,
     "model.input_size is not set, but connector(s) 'projector' leave "
     'in_channels/out_channels to be inferred'),
    ('input_size-wrong',
     lambda c, f: c.model.update(input_size=(3, 28, 28)),
     'model', WidthInferenceError,
     'The dry forward pass on a dummy batch of shape (2, 3, 28, 28) '
     '(model.input_size=(3, 28, 28)) that finds the projector widths '
     'failed'),
    ('inferred-width-zero',
     lambda c, f: (c.model.architecture.update(
         neck=dict(type='LinearNeck', in_channels=64, out_channels=0,
                   gap_dim=2, norm_cfg=None),
         head=dict(type='LinearClsHead', num_classes=10, in_channels=0)),
                   distiller(c).connectors.projector.update(
                       in_channels=None)),
     'model', WidthInferenceError,
     "student recorder 'feat'): the recorded feature has shape (2, 0), so "
     'its inferred width is 0'),
    ('feature-layout-mix',
     lambda c, f: (distiller(c).student_recorders.feat.update(
         source='backbone.layer3'), mapping(c, 's_feature').update(
             data_idx=None)),
     'model', ValueError,
      'the student feature map (N, C, H, W) (2, 64, 7, 7) (after its '
     'connector) and the teacher feature pooled (N, C) (2, 64) have '
     'different layouts or sizes, so they cannot be compared element by '
     'element. Record features of one layout on both sides (e.g. the pooled '
     'output of the neck).'),
    ('num_projectors-zero',
     lambda c, f: distiller(c).connectors.projector.update(num_projectors=0),
     'model', ValueError, 'num_projectors must be a positive int, got 0'),
    # Losses
    ('loss-type-typo',
     lambda c, f: distiller(c).distill_losses.loss_pefd.update(
         type='FeatureMSELos'),
     'model', ValueError, "Did you mean 'FeatureMSELoss'?"),
    ('loss-argument-typo', lambda c, f: rename_arg(c, 's_feature', 's_feat'),
     'model', ValueError,
     "FeatureMSELoss.forward has no argument 's_feat'. Did you mean "
     "'s_feature'"),
    ('loss-argument-missing',
     lambda c, f: distiller(c).loss_forward_mappings.loss_pefd.pop(
         't_feature'),
     'model', ValueError, "no input for 't_feature' of FeatureMSELoss"),
    ('loss-name-without-loss', lambda c, f: rename_loss(c, 'loss_pefd',
                                                        'pefd'),
     'model', ValueError, "'pefd' would be logged and never trained"),
    ('mapping-of-an-unknown-loss',
     lambda c, f: distiller(c).loss_forward_mappings.update(
         loss_pfed=distiller(c).loss_forward_mappings.pop('loss_pefd')),
     'model', ValueError,
     'loss_forward_mappings.loss_pfed: no distill loss of that name. Did '
     "you mean 'loss_pefd'?"),
    ('loss-without-mapping',
     lambda c, f: distiller(c).distill_losses.update(
         loss_extra=dict(type='FeatureMSELoss')),
     'model', ValueError,
     'distill_losses.loss_extra has no entry in '
     'model.distiller.loss_forward_mappings'),
    ('loss_weight-a-string',
     lambda c, f: distiller(c).distill_losses.loss_pefd.update(
         loss_weight='12.5'),
     'model', ValueError, "loss_weight must be a number, got '12.5'"),
    ('loss-reduction-typo',
     lambda c, f: distiller(c).distill_losses.loss_pefd.update(
         reduction='batch_mean'),
     'model', ValueError, "reduction must be one of ('batchmean', 'mean', "
     "'sum'), got 'batch_mean'"),
    ('logit-kd-with-different-class-counts',
     lambda c, f: logit_kd(c, student_classes=100), 'model', ValueError,
     "compares the student's head output (100 classes, "
     "model.architecture.head.num_classes) with the teacher's (10 classes"),
    # Algorithm, models and scopes
    ('distiller-type-typo',
     lambda c, f: distiller(c).update(type='ConfigurableDistiler'),
     'model', ValueError, "Did you mean 'ConfigurableDistiller'"),
    ('nonfinite-typo', lambda c, f: c.model.update(nonfinite='ignore'),
     'model', ValueError, "nonfinite must be 'raise' or 'skip'"),
    ('teacher_dtype-unknown',
     lambda c, f: c.model.update(teacher_dtype='float16'), 'model',
     ValueError, "model.teacher_dtype must be one of 'auto', 'fp32', 'bf16', "
     "'fp16', got 'float16'"),
    ('teacher_memory_format-unknown',
     lambda c, f: c.model.update(teacher_memory_format='nhwc'), 'model',
     ValueError, "model.teacher_memory_format must be one of 'contiguous', "
     "'channels_last', got 'nhwc'"),
    ('teacher_dtype-low-precision-with-trainable-teacher',
     lambda c, f: c.model.update(teacher_dtype='bf16',
                                 teacher_trainable=True), 'model',
     ValueError, 'is only for a frozen teacher'),
    ('architecture-without-scope',
     lambda c, f: c.model.architecture.pop('_scope_'), 'model', ValueError,
     "Add _scope_='mmpretrain' to model.architecture"),
    ('teacher-without-scope', lambda c, f: c.model.teacher.pop('_scope_'),
     'model', ValueError, "Add _scope_='mmpretrain' to model.teacher"),
    ('model-without-scope', lambda c, f: c.model.pop('_scope_'),
     'runner-model', KeyError,
     'CheckedSingleTeacherDistill is not in the mmpretrain::model registry'),
    ('architecture-missing', lambda c, f: c.model.pop('architecture'),
     'model', TypeError, 'missing 1 required positional argument: '
     "'architecture'"),
    ('backbone-type-typo',
     lambda c, f: c.model.architecture.backbone.update(type='CifarResNett'),
     'model', KeyError, 'CifarResNett is not in the mmpretrain::model '
     'registry'),
    # Teacher checkpoint
    ('teacher-checkpoint-not-set',
     lambda c, f: c.model.update(teacher_ckpt=None), 'model', ValueError,
     'model.teacher_ckpt is not set, so the student would be distilled '
     'from a randomly initialised teacher'),
    ('teacher-checkpoint-not-found',
     lambda c, f: c.model.update(teacher_ckpt=f.missing_file),
     'model', CheckpointError, 'does not exist'),
    ('teacher-checkpoint-of-another-architecture',
     lambda c, f: c.model.update(teacher_ckpt=f.student_ckpt),
     'model', CheckpointError, 'does not match the model it is loaded '
     'into'),
    ('teacher-checkpoint-truncated',
     lambda c, f: c.model.update(teacher_ckpt=f.truncated_ckpt),
     'model', CheckpointError, 'is truncated or corrupt'),
    # Data and optimizer
    ('data-root-missing', lambda c, f: set_data_root(c, f.missing_dir),
     'dataset', RuntimeError, 'Cannot find CheckedFashionMNIST dataset in'),
    ('data-root-without-files', lambda c, f: set_data_root(c, f.empty_dir),
     'dataset', RuntimeError, 'Cannot find CheckedFashionMNIST dataset in'),
    ('dataset-type-typo',
     lambda c, f: c.train_dataloader.dataset.update(type='FashionMnist'),
     'dataset', KeyError,
     'FashionMnist is not in the mmpretrain::dataset registry'),
    ('learning-rate-negative',
     lambda c, f: c.optim_wrapper.optimizer.update(lr=-0.05), 'optimizer',
     ValueError, 'Invalid learning rate: -0.05'),
    # optimizer-type-typo: test_checked_constructor.py.
]


@pytest.fixture(scope='module')
def files(tmp_path_factory, teacher_ckpt, digits_root):
    from mmpretrain.registry import MODELS
    root = tmp_path_factory.mktemp('misconfig')
    student = MODELS.build(
        Config.fromfile(osp.join(FMNIST_DIR, 'resnet8_10e_fmnist.py')).model)
    torch.save({'state_dict': student.state_dict()}, root / 'student.pth')
    data = open(teacher_ckpt, 'rb').read()
    (root / 'cut.pth').write_bytes(data[:len(data) // 2])
    (root / 'empty').mkdir()
    return SimpleNamespace(
        teacher_ckpt=teacher_ckpt, digits_root=digits_root,
        student_ckpt=str(root / 'student.pth'),
        truncated_ckpt=str(root / 'cut.pth'),
        missing_file=str(root / 'nope.pth'),
        missing_dir=str(root / 'no_such_dir'), empty_dir=str(root / 'empty'))


def build(cfg, stage):
    """What the Runner builds from ``cfg`` at ``stage``."""
    from mmpretrain.registry import DATASETS
    from mmrazor.registry import MODELS
    if stage == 'dataset':
        return DATASETS.build(cfg.train_dataloader.dataset)
    if stage == 'runner-model':
        return build_model(cfg)
    cfg.model.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(cfg.model)
    if stage == 'optimizer':
        from mmengine.optim import build_optim_wrapper
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            return build_optim_wrapper(model, cfg.optim_wrapper)
    if stage == 'forward':
        from mmpretrain.structures import DataSample
        model.train()
        inputs = torch.rand(4, 1, 28, 28) * 255
        data = model.data_preprocessor(
            dict(inputs=list(inputs),
                 data_samples=[DataSample().set_gt_label(i) for i in
                               range(4)]), training=True)
        model(data['inputs'], data['data_samples'], mode='loss')
    return model


def fashion_mnist_config(files) -> Config:
    cfg = Config.fromfile(PEFD_FMNIST)
    cfg.model.teacher_ckpt = files.teacher_ckpt
    set_data_root(cfg, files.digits_root)
    return cfg


@pytest.mark.parametrize('stage', ['model', 'forward', 'dataset',
                                   'optimizer', 'runner-model'])
def test_the_unchanged_config_builds_at_every_stage(files, stage):
    build(fashion_mnist_config(files), stage)


@pytest.mark.parametrize('case_id,change,stage,error,phrase', CASES,
                         ids=[case[0] for case in CASES])
def test_misconfiguration_gives_the_documented_error(files, case_id, change,
                                                     stage, error, phrase):
    cfg = fashion_mnist_config(files)
    change(cfg, files)
    with pytest.raises(error) as info:
        build(cfg, stage)
    # The documented type; recorder errors are also AssertionError (the
    # type mmrazor raises there), so they subclass it.
    assert type(info.value) is error or (
        isinstance(info.value, error)
        and isinstance(info.value, AssertionError)), type(info.value)
    assert phrase in str(info.value)


def test_the_docs_table_lists_exactly_the_tested_cases():
    with open(DOC) as f:
        documented = re.findall(r'^\| `([a-z_-]+)` \|', f.read(), re.M)
    assert len(documented) == len(set(documented))
    assert sorted(documented) == sorted(
        [case[0] for case in CASES] + CONSTRUCTOR_CASES)
    assert len(CASES) >= 20


def test_the_argument_side_names_check_can_be_switched_off(files):
    """``s_feature`` fed by the teacher and ``t_feature`` by the student:
    the naming heuristic refuses it, ``skip_checks`` lets it build."""
    def swapped():
        cfg = fashion_mnist_config(files)
        mapping(cfg, 's_feature').update(from_student=False)
        mapping(cfg, 's_feature').pop('connector')
        mapping(cfg, 't_feature').update(from_student=True,
                                         connector='projector')
        return cfg
    with pytest.raises(ValueError, match="by its name 's_feature' is the "
                       "student's input"):
        build(swapped(), 'model')
    cfg = swapped()
    cfg.model.skip_checks = ['argument-side-names']
    build(cfg, 'forward')


def test_unknown_check_names_are_refused(files):
    cfg = fashion_mnist_config(files)
    cfg.model.skip_checks = ['argument-side-name']
    with pytest.raises(ValueError, match="no check named "
                       "'argument-side-name'. Did you mean "
                       "'argument-side-names'"):
        build(cfg, 'model')
