"""Config values of the wrong type or sign that would silently change the
method are build-time errors naming the key."""
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
])
def test_wrong_type_or_sign_is_refused(key, value, message):
    with pytest.raises(ValueError, match=message.replace('(', r'\(')):
        build(**{key: value})


def test_the_shipped_values_build():
    model = build()
    assert model.distiller.distill_losses.loss_pefd.loss_weight == 12.5
