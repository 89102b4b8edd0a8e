"""CPUSyncBatchNorm and its converter: synchronised BatchNorm for CPU
processes without touching torch's own SyncBatchNorm (the two-process
training that relies on it: tests/test_distributed.py)."""
import pytest
import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS
from torch import nn

from projkd_mm.models.layers import (
    CPUSyncBatchNorm,
    convert_cpu_sync_batchnorm,
)


def net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Sequential(nn.Flatten(), nn.Linear(4 * 6 * 6, 5),
                      nn.SyncBatchNorm(5, momentum=None)))


def batchnorms(model: nn.Module) -> list:
    return [m for m in model.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def test_converter_replaces_every_batchnorm_keeping_its_tensors_and_mode():
    model = net()
    model[3][2].eval()
    before = [(type(m), m.training, m.momentum,
               [id(t) for t in (*m.parameters(), *m.buffers())])
              for m in batchnorms(model)]
    converted = convert_cpu_sync_batchnorm(model)
    assert converted is model
    after = batchnorms(model)
    assert [type(m) for m in after] == [CPUSyncBatchNorm] * 2
    for (_, training, momentum, tensors), m in zip(before, after):
        assert m.training == training and m.momentum == momentum
        assert [id(t) for t in (*m.parameters(), *m.buffers())] == tensors
    single = convert_cpu_sync_batchnorm(nn.BatchNorm1d(3))
    assert type(single) is CPUSyncBatchNorm


def test_without_a_process_group_it_is_batchnorm():
    torch.manual_seed(0)
    x = torch.randn(8, 4, 5, 5)
    reference = nn.BatchNorm2d(4)
    converted = convert_cpu_sync_batchnorm(nn.BatchNorm2d(4))
    for mode in ('train', 'eval'):
        getattr(reference, mode)()
        getattr(converted, mode)()
        torch.testing.assert_close(converted(x), reference(x))
    torch.testing.assert_close(converted.running_var, reference.running_var)
    with pytest.raises(ValueError, match='at least 2 dimensions'):
        converted(torch.randn(4))


def test_torch_sync_batchnorm_and_ddp_stay_torch_own_after_use(tmp_path):
    """The wrapper converts torch's SyncBatchNorm layers, which DDP refuses
    in a CPU module, so a CPU model wraps and trains; torch's classes are
    left as they are."""
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store',
                            rank=0, world_size=1)
    try:
        with pytest.raises(ValueError, match='only work with GPU modules'):
            MMDistributedDataParallel(
                module=nn.SyncBatchNorm.convert_sync_batchnorm(net()),
                device_ids=None)
        wrapped = MODEL_WRAPPERS.build(
            dict(type='CPUSyncBNDistributedDataParallel', device_ids=None),
            default_args=dict(
                module=nn.SyncBatchNorm.convert_sync_batchnorm(net())))
        assert {type(m) for m in batchnorms(wrapped)} == {CPUSyncBatchNorm}
        wrapped(torch.randn(4, 3, 8, 8)).sum().backward()
    finally:
        dist.destroy_process_group()
    for owner, name in ((nn.SyncBatchNorm, 'forward'),
                        (nn.parallel.DistributedDataParallel,
                         '_passing_sync_batchnorm_handle')):
        method = owner.__dict__[name]
        assert method.__module__.startswith('torch.nn.'), method
        assert method.__qualname__ == f'{owner.__name__}.{name}'
