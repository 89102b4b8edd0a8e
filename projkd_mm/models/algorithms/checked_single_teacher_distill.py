from typing import Dict, List, Optional

import torch
from mmengine.dist import is_distributed
from mmengine.logging import MMLogger
from mmrazor.models.algorithms import SingleTeacherDistill
from mmrazor.registry import MODELS

from projkd_mm.models.algorithms.config_checks import check_distill_config
from projkd_mm.utils.checkpoint import (
    extract_state_dict,
    load_checkpoint_file,
    load_state_dict_strict,
)


@MODELS.register_module()
class CheckedSingleTeacherDistill(SingleTeacherDistill):
    """MMRazor's ``SingleTeacherDistill`` with the checks a long run needs.

    Same arguments and behaviour as ``SingleTeacherDistill``, except:

    - **No silent random teacher.** Without ``teacher_ckpt`` the build fails
      unless ``allow_random_teacher=True`` says so.
    - **Strict, safe teacher loading.** The checkpoint is unpickled with
      ``weights_only=True`` (see :mod:`projkd_mm.utils.checkpoint`) and must
      match the teacher key for key and shape for shape; a mismatch is an
      error listing the differences instead of a partial load.
    - **Teacher fully in eval mode** (BatchNorm and dropout) unless it is
      trainable, whatever ``teacher_norm_eval`` says for norm layers.
    - **Non-finite guard.** A NaN/Inf loss stops the step before any
      backward pass, naming the loss term and the recorders that hold
      non-finite features. With ``nonfinite='skip'`` the step is skipped
      instead and logged: the student's BatchNorm statistics are restored to
      their values before the step and the optimizer does not step. (Under
      DDP, where every process must run the same collectives, the step runs
      with zero losses instead: no gradient from the bad batch, but
      momentum and weight decay still act.)

    Args:
        teacher_ckpt (str, optional): Local path or URL of the teacher's
            weights (mmpretrain/MMEngine checkpoint or a bare state dict).
        allow_random_teacher (bool): Build without ``teacher_ckpt``, leaving
            the teacher randomly initialised. Only for tests and for
            ``tools/test.py``, which loads all weights afterwards.
            Defaults to False.
        nonfinite (str): ``'raise'`` or ``'skip'``. Defaults to ``'raise'``.
        **kwargs: Passed to ``SingleTeacherDistill``.
    """

    def __init__(self,
                 *args,
                 teacher_ckpt: Optional[str] = None,
                 allow_random_teacher: bool = False,
                 nonfinite: str = 'raise',
                 **kwargs) -> None:
        if nonfinite not in ('raise', 'skip'):
            raise ValueError("CheckedSingleTeacherDistill: nonfinite must be "
                             f"'raise' or 'skip', got {nonfinite!r}.")
        if not teacher_ckpt and not allow_random_teacher:
            raise ValueError(
                'No teacher checkpoint: model.teacher_ckpt is not set, so the '
                'student would be distilled from a randomly initialised '
                'teacher. Set model.teacher_ckpt to the teacher\'s weights '
                '(e.g. --cfg-options model.teacher_ckpt=/path/teacher.pth), '
                'or set model.allow_random_teacher=True if that is really '
                'what you want.')
        check_distill_config(kwargs)
        super().__init__(*args, teacher_ckpt=None, **kwargs)
        self.nonfinite = nonfinite
        self.nonfinite_skipped = 0
        if teacher_ckpt:
            what = f'teacher checkpoint (model.teacher_ckpt={teacher_ckpt!r})'
            state_dict = extract_state_dict(
                load_checkpoint_file(teacher_ckpt, what), what)
            load_state_dict_strict(self.teacher, state_dict, what)
            # Keep init_weights() from overwriting the loaded weights.
            self.teacher._is_init = True

    def train(self, mode: bool = True) -> 'CheckedSingleTeacherDistill':
        super().train(mode)
        if mode and not self.teacher_trainable:
            self.teacher.eval()
        return self

    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        try:
            return super().train_step(data, optim_wrapper)
        except _SkippedStep:
            optim_wrapper.zero_grad()
            return {'nonfinite_skipped': torch.tensor(
                float(self.nonfinite_skipped))}

    def loss(self, batch_inputs: torch.Tensor,
             data_samples: Optional[List] = None) -> Dict[str, torch.Tensor]:
        # Only 'skip' needs the statistics the forward pass is about to
        # overwrite; 'raise' ends the run anyway.
        saved = ([b.clone() for b in self.student.buffers()]
                 if self.nonfinite == 'skip' and self.training else None)
        losses = super().loss(batch_inputs, data_samples)
        values = [v for v in losses.values() if isinstance(v, torch.Tensor)]
        if values and not bool(
                torch.stack([v.detach().float().sum()
                             for v in values]).isfinite().all()):
            if saved is not None:
                with torch.no_grad():
                    for buffer, old in zip(self.student.buffers(), saved):
                        buffer.copy_(old)
            return self._handle_nonfinite(losses)
        return losses

    def _nonfinite_recorders(self) -> List[str]:
        found = []
        for side, manager in (('student', self.distiller.student_recorders),
                              ('teacher', self.distiller.teacher_recorders)):
            for name, recorder in manager.recorders.items():
                for record in recorder.data_buffer:
                    tensors = record if isinstance(record,
                                                   (tuple, list)) else [record]
                    if any(isinstance(t, torch.Tensor)
                           and t.is_floating_point()
                           and not torch.isfinite(t).all() for t in tensors):
                        found.append(f'{side} recorder {name!r} '
                                     f'(source {recorder.source!r})')
                        break
        return found

    def _handle_nonfinite(self, losses: Dict) -> Dict[str, torch.Tensor]:
        bad = [k for k, v in losses.items() if isinstance(v, torch.Tensor)
               and not torch.isfinite(v.detach()).all()]
        recorders = self._nonfinite_recorders()
        where = ('non-finite features in ' + ', '.join(recorders)
                 if recorders else
                 'the recorded features are finite: the non-finite value '
                 'arose after them, in the logits or the loss itself')
        message = (f'Non-finite loss {", ".join(bad)} ({where}). Nothing was '
                   'back-propagated or written. Usual causes: a learning rate '
                   'or loss_weight too large, fp16 overflow (use bf16 or '
                   "--amp with the default loss scaler), or bad input data.")
        if self.nonfinite == 'raise':
            raise FloatingPointError(
                message + " Set model.nonfinite='skip' to skip such steps "
                'instead.')
        self.nonfinite_skipped += 1
        MMLogger.get_current_instance().warning(
            f'Skipping step ({self.nonfinite_skipped} so far): {message}')
        if not is_distributed():
            raise _SkippedStep()
        # Every rank must still run backward's all-reduce: zero losses.
        zero = sum(p.sum() * 0 for p in self.parameters() if p.requires_grad)
        return {k: (zero if isinstance(v, torch.Tensor) else v)
                for k, v in losses.items()}


class _SkippedStep(Exception):
    """Raised by ``loss`` to make ``train_step`` skip the update."""
