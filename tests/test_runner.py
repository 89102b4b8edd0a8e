"""projkd_mm/engine/runner.py: the configs' Runner (its checkpoint loading:
test_safe_load.py). Here: its config is formatted once, to the same text."""
import copy
import os.path as osp
import pickle

import mmengine.config.config as config_module
import torch
from conftest import PEFD_FMNIST, tiny_run_options
from mmengine.config import Config

from projkd_mm.engine.runner import FormatOnceConfig


def count_yapf_calls(monkeypatch) -> list:
    calls = []
    format_code = config_module.FormatCode

    def counted(*args, **kwargs):
        calls.append(1)
        return format_code(*args, **kwargs)

    monkeypatch.setattr(config_module, 'FormatCode', counted)
    return calls


def test_text_is_configs_and_follows_every_change():
    cfg = Config.fromfile(PEFD_FMNIST)
    once = FormatOnceConfig.of(cfg)
    assert once.pretty_text == cfg.pretty_text
    assert once.filename == cfg.filename and once.text == cfg.text
    for key, value in (('train_cfg.max_epochs', 3), ('work_dir', '/x/y')):
        once.merge_from_dict({key: value})
        cfg.merge_from_dict({key: value})
        assert once.pretty_text == cfg.pretty_text
    assert 'max_epochs=3' in once.pretty_text
    # Copies keep the class and the text; the source is left as it was.
    for other in (copy.deepcopy(once), pickle.loads(pickle.dumps(once))):
        assert type(other) is FormatOnceConfig
        assert other.pretty_text == cfg.pretty_text
    assert type(cfg) is Config
    assert FormatOnceConfig.of(dict(a=1)).pretty_text == 'a = 1\n'


def test_unchanged_text_is_formatted_once(monkeypatch):
    once = FormatOnceConfig.of(Config.fromfile(PEFD_FMNIST))
    calls = count_yapf_calls(monkeypatch)
    texts = {once.pretty_text for _ in range(4)}
    assert len(texts) == 1 and len(calls) == 1
    once.merge_from_dict({'train_cfg.max_epochs': 3})
    assert once.pretty_text != texts.pop() and len(calls) == 2


def test_runner_writes_the_configs_text_formatting_it_once(
        tmp_path, digits_root, teacher_ckpt, monkeypatch):
    from mmengine.registry import RUNNERS
    cfg = Config.fromfile(PEFD_FMNIST)
    cfg.merge_from_dict(tiny_run_options(
        digits_root, **{'model.teacher_ckpt': teacher_ckpt}))
    cfg.work_dir = str(tmp_path)
    expected = copy.deepcopy(cfg)
    calls = count_yapf_calls(monkeypatch)
    runner = RUNNERS.build(cfg)  # logs the config
    assert type(runner.cfg) is FormatOnceConfig
    runner.dump_config()
    runner.visualizer.add_config(runner.cfg)
    runner.save_checkpoint(str(tmp_path), 'weights.pth',
                           save_optimizer=False, save_param_scheduler=False)
    assert len(calls) == 1  # four texts, one formatting
    with open(osp.join(tmp_path, osp.basename(PEFD_FMNIST))) as f:
        dumped = f.read()
    # The file written above; our loader would drop its meta['cfg'].
    meta = torch.load(osp.join(tmp_path, 'weights.pth'),
                      weights_only=False)['meta']
    assert dumped == meta['cfg'] == expected.pretty_text
