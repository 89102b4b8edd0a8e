"""MMEngine's Runner, loading checkpoints under projkd_mm's trust policy and
formatting its config once."""
import copy

from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import (
    _load_checkpoint,
    _load_checkpoint_to_model,
)

from projkd_mm.utils.safe_load import (
    drop_code_carrying_keys,
    load_checkpoint_file,
    refuse_if_weights_only_forced_off,
)

_OWN_SCHEMES = ('http://', 'https://')


class FormatOnceConfig(Config):
    """A ``Config`` whose :attr:`pretty_text` runs yapf once per content.

    A Runner of mmengine 0.10.7 asks for its config's ``pretty_text`` about
    five times before the first epoch ends (the log, the dumped config, the
    visualizer's copy, every checkpoint's ``meta``), and each call formats
    the whole text with yapf again: about half a second of CPU for one of
    our configs, two seconds of a tiny run's ten. Here the formatted text is
    kept beside the unformatted one it came from and reused while that is
    unchanged, so the text is the same as ``Config.pretty_text``'s whatever
    is changed in between.
    """

    @property
    def pretty_text(self) -> str:
        # mmengine's private switch; a version without it: mmengine's way.
        if not self.__dict__.get('_format_python_code', False):
            return super().pretty_text
        # The unformatted text: mmengine's own rendering with yapf off.
        object.__setattr__(self, '_format_python_code', False)
        try:
            raw = super().pretty_text
        finally:
            object.__setattr__(self, '_format_python_code', True)
        kept = self.__dict__.get('_formatted_text')
        if kept is None or kept[0] != raw:
            kept = (raw, super().pretty_text)
            object.__setattr__(self, '_formatted_text', kept)
        return kept[1]

    @classmethod
    def of(cls, cfg):
        """A copy of ``cfg`` (a ``Config`` or a dict) of this class."""
        if isinstance(cfg, Config):
            # The same state: the class adds a property, no field.
            other = cls.__new__(cls)
            other.__dict__.update(copy.deepcopy(cfg).__dict__)
            return other
        return cls(cfg)


@RUNNERS.register_module()
class SafeCheckpointRunner(Runner):
    """``Runner`` whose ``load_checkpoint`` (``load_from``, ``--resume``)
    reads files through
    :func:`projkd_mm.utils.safe_load.load_checkpoint_file`.

    mmengine 0.10.7 loads with a bare ``torch.load``: on torch >= 2.6 its
    own checkpoints fail to load ("Unsupported global: ...
    HistoryBuffer"), under ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` any pickle
    runs, ``resume`` executes ``meta['config']`` and a truncated file fails
    without its name. Here local paths and ``http(s)://`` URLs are
    pre-scanned and unpickled with safe constructors, code-carrying keys
    are dropped, and damage is reported with the file's name; other schemes
    (``torchvision://``, ``open-mmlab://``, ...) keep mmengine's loader with
    their result made inert the same way. Everything else is the Runner's.

    Selected by the configs with ``runner_type='SafeCheckpointRunner'``
    (configs/_base_/projkd_runtime.py), which OpenMMLab tools honour
    (``RUNNERS.build(cfg)``); ``Runner.from_cfg`` ignores that key.

    Its config is a :class:`FormatOnceConfig`: the same texts in the log,
    the work dir and the checkpoints, formatted once instead of five times.
    """

    def __init__(self, *args, cfg=None, **kwargs):
        if isinstance(cfg, (Config, dict)):
            cfg = FormatOnceConfig.of(cfg)
        super().__init__(*args, cfg=cfg, **kwargs)

    def load_checkpoint(self, filename: str, map_location='cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):
        if '://' not in filename or filename.startswith(_OWN_SCHEMES):
            checkpoint = load_checkpoint_file(filename, 'checkpoint')
        else:
            refuse_if_weights_only_forced_off(filename)
            checkpoint = drop_code_carrying_keys(
                _load_checkpoint(filename, map_location=map_location))
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) \
            else self.model
        checkpoint = _load_checkpoint_to_model(
            model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
