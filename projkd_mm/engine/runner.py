"""MMEngine's Runner, loading checkpoints under projkd_mm's trust policy."""
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
    """

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
