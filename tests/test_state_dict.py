"""projkd_mm.utils.state_dict: a checkpoint's state dict found in any
usual layout, split by model, and loaded strictly."""
import pytest
import torch
from mmpretrain.registry import MODELS as CLS_MODELS

from projkd_mm.families import tiny_model
from projkd_mm.utils.safe_load import CheckpointError
from projkd_mm.utils.state_dict import (
    TEACHER_PREFIX,
    extract_state_dict,
    load_state_dict_strict,
    split_state_dict,
)


def test_a_state_dict_is_found_in_any_usual_layout_and_split_by_model():
    w = torch.ones(1)
    for checkpoint in ({'state_dict': {'module.a.w': w}},
                       {'model': {'a.w': w}}, {'a.w': w}):
        assert list(extract_state_dict(checkpoint, 'c')) == ['a.w']
    with pytest.raises(CheckpointError, match='holds a list'):
        extract_state_dict([w], 'c')
    state_dict = {'architecture.x': 1, 'teacher.y': 2}
    assert split_state_dict(state_dict, 'architecture') == {'x': 1}
    assert split_state_dict(state_dict, TEACHER_PREFIX) == {'y': 2}


def test_a_zoo_checkpoint_in_an_older_layout_loads_through_the_model(
        tmp_path):
    """mmpretrain's Swin converts its older checkpoints on load (``norm``
    -> ``norm3``, ``attn_mask`` buffers dropped): the strict loader accepts
    what the model itself converts, and still refuses anything else."""
    model = CLS_MODELS.build(tiny_model('swin'))
    old = {}
    for key, value in model.state_dict().items():
        if key.startswith('backbone.norm3.'):
            key = key.replace('backbone.norm3.', 'backbone.norm.')
        old[key] = value.clone()
    old['backbone.stages.0.blocks.0.attn.w_msa.attn_mask'] = torch.zeros(1)
    fresh = CLS_MODELS.build(tiny_model('swin'))
    load_state_dict_strict(fresh, old, 'Swin checkpoint')
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key
    old['backbone.extra.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointError, match='unexpected keys'):
        load_state_dict_strict(CLS_MODELS.build(tiny_model('swin')), old,
                               'Swin checkpoint')
