"""Config values of the wrong type or sign that would silently change the
method are build-time errors naming the key."""
import re

import numpy as np
import pytest
from conftest import PEFD_FMNIST
from mmengine.config import Config

from projkd_mm.utils.build import build_model


def build(**changes):
    cfg = Config.fromfile(PEFD_FMNIST)
    cfg.model.teacher_ckpt = None
    cfg.model.allow_random_teacher = True
    for key, value in changes.items():
        node = cfg.model
        *path, last = key.split('.')
        for part in path:
            node = node[part]
        node[last] = value
    return build_model(cfg)


@pytest.mark.parametrize('key,value,message', [
    ('teacher_trainable', 'False', 'model.teacher_trainable must be True or '
     'False'),
    ('student_trainable', 1, 'model.student_trainable must be True or False'),
    ('distiller.connectors.projector.num_projectors', True,
     'num_projectors must be a positive int, got True'),
    ('distiller.distill_losses.loss_pefd.normalize', 'no',
     'normalize must be True'),
    ('distiller.distill_losses.loss_pefd.loss_weight', -12.5,
     'loss_weight must be a finite number >= 0, got -12.5'),
    ('distiller.distill_losses.loss_pefd.loss_weight', float('nan'),
     'loss_weight must be a finite number >= 0'),
    # A truthy string used to distil from a random teacher, exit 0.
    ('allow_random_teacher', 'False', "model.allow_random_teacher must be "
     "True or False, got 'False' (str)"),
    ('teacher_module_inplace', 'yes', 'model.teacher_module_inplace must be '
     'True or False'),
    ('module_inplace', 1, 'model.module_inplace must be True or False'),
    ('teacher_norm_eval', None, 'model.teacher_norm_eval must be True or '
     'False, got None'),
    ('teacher_compile', np.bool_(True), 'model.teacher_compile must be True '
     'or False, got np.True_ (numpy.bool_, not a Python bool)'),
    ('skip_checks', 'flags', "model.skip_checks must be a list of check "
     "names (e.g. ['argument-side-names']), or [] for none, got 'flags' "
     '(str)'),
    ('skip_checks', None, 'model.skip_checks must be a list of check names'),
    ('input_size', (28, 28), 'model.input_size must be the shape of one '
     'image, (channels, height, width)'),
    ('input_size', (1, 1 << 20, 1 << 20), 'model.input_size=(1, 1048576, '
     '1048576) has 1,099,511,627,776 values'),
])
def test_wrong_type_or_sign_is_refused(key, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build(**{key: value})


def test_the_shipped_values_build():
    model = build()
    assert model.distiller.distill_losses.loss_pefd.loss_weight == 12.5


def test_booleans_of_any_registered_loss_or_connector_are_checked():
    """mmrazor's KLDivergence(teacher_detach='False') would silently
    back-propagate into the teacher's logits: every argument a loss or
    connector declares as bool must be one."""
    logits = dict(type='ModuleOutputs', source='head.fc')
    with pytest.raises(ValueError, match="model.distiller.distill_losses."
                       "loss_kd.teacher_detach must be True or False, got "
                       "'False' \\(str\\)"):
        build(**{
            'distiller.student_recorders.logits': logits,
            'distiller.teacher_recorders.logits': logits,
            'distiller.distill_losses.loss_kd': dict(
                type='KLDivergence', tau=4, teacher_detach='False'),
            'distiller.loss_forward_mappings.loss_kd': dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits'))})
