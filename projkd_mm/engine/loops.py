"""Validation loop that evaluates a frozen teacher once."""
import copy
from typing import Dict, List, Optional, Union

from mmengine.evaluator import Evaluator
from mmengine.model import is_model_wrapper
from mmengine.registry import LOOPS
from mmengine.runner.loops import _parse_losses
from mmrazor.engine.runner import SingleTeacherDistillValLoop
from torch.utils.data import DataLoader


@LOOPS.register_module()
class FrozenTeacherDistillValLoop(SingleTeacherDistillValLoop):
    """Validate the student every time, a frozen teacher only once.

    MMRazor's ``SingleTeacherDistillValLoop`` runs the teacher over the whole
    validation set at every validation, although a frozen teacher gives the
    same metrics every time. This loop validates the student as usual and
    the teacher only at the first validation in a process; later
    validations report the cached ``teacher.<metric>`` values, so the logs
    and ``vis_data/scalars.json`` keep the same keys at every validation.

    - A trainable teacher (``model.teacher_trainable=True``) is re-evaluated
      every time.
    - The cache lives in memory, in this loop: a new process (e.g. after
      ``--resume``) or a new Runner evaluates the teacher again, once.
    - Distributed runs: the evaluator gathers the results of all ranks and
      every rank gets the same metrics, so every rank caches the same dict.

    Registered in MMEngine's ``LOOPS``, so any scope finds it::

        val_cfg = dict(_delete_=True, type='FrozenTeacherDistillValLoop')

    Args:
        runner (Runner): A reference of runner.
        dataloader (Dataloader or dict): A dataloader object or a dict to
            build a dataloader.
        evaluator (Evaluator or dict or list): Used for computing metrics.
        fp16 (bool): Whether to enable fp16 validation. Defaults to
            False.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, List],
                 fp16: bool = False) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        #: The frozen teacher's metrics (without the ``teacher.`` prefix),
        #: once evaluated.
        self.teacher_metrics: Optional[Dict] = None
        #: How many times this loop has run the teacher over the data.
        self.teacher_evaluations = 0

    @property
    def teacher_frozen(self) -> bool:
        model = self.runner.model
        if is_model_wrapper(model):
            model = model.module
        return not getattr(model, 'teacher_trainable', False)

    def run(self) -> dict:
        """Launch validation."""
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        self.val_loss.clear()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        # compute student metrics
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        if self.val_loss:
            metrics.update(_parse_losses(self.val_loss, 'val'))

        if self.teacher_metrics is None or not self.teacher_frozen:
            self.teacher_metrics = self.evaluate_teacher()
        for key, value in self.teacher_metrics.items():
            metrics['teacher.' + key] = copy.deepcopy(value)

        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics

    def evaluate_teacher(self) -> Dict:
        """Run the teacher over the validation data; its metrics."""
        self.runner.call_hook('before_val_epoch')
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter_teacher(idx, data_batch)
        self.teacher_evaluations += 1
        return self.evaluator.evaluate(len(self.dataloader.dataset))
