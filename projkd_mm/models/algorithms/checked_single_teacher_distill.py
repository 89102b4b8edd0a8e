import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.dist import is_distributed
from mmengine.logging import MMLogger
from mmrazor.models.algorithms import SingleTeacherDistill
from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS

from projkd_mm.models.algorithms.inplace import set_module_inplace_false
from projkd_mm.models.algorithms.teacher_outputs import (
    CachedTeacher,
    OnlineTeacher,
)
from projkd_mm.models.algorithms.teacher_precision import (
    cpu_bf16_supported,
    resolve_teacher_dtype,
)
from projkd_mm.models.algorithms.width_inference import infer_widths
from projkd_mm.teacher_cache import TeacherCacheError, TeacherCacheStore
from projkd_mm.teacher_cache.store import file_sha256, host_info
from projkd_mm.teacher_cache.views import plain
from projkd_mm.utils.state_dict import load_weights_strict
from projkd_mm.validation import (
    check_algorithm_options,
    check_distill_config,
    check_teacher_options,
)


@MODELS.register_module()
class CheckedSingleTeacherDistill(SingleTeacherDistill):
    """MMRazor's ``SingleTeacherDistill`` with the checks a long run needs.

    Same arguments and behaviour as ``SingleTeacherDistill``, except:

    - **No silent random teacher.** Without ``teacher_ckpt`` the build fails
      unless ``allow_random_teacher=True`` says so.
    - **Strict, safe teacher loading.** The checkpoint is unpickled with
      ``weights_only=True`` (see :mod:`projkd_mm.utils.safe_load`) and must
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
    - **In-place ops off, on torch 2 too.** mmrazor 1.0.0's
      ``set_module_inplace_false`` does nothing on torch >= 2.0 (it walks
      only ``OrderedDict`` children); here every submodule with an
      ``inplace`` flag of student and teacher gets ``inplace=False``, so a
      recorder never sees a tensor an in-place ReLU changed afterwards
      (``module_inplace``/``teacher_module_inplace=True`` keep them on).
    - **A cheap frozen teacher.** ``teacher_dtype``,
      ``teacher_memory_format`` and ``teacher_compile`` set how the
      teacher's training-time forward runs, whatever precision the student
      trains in (its optim wrapper decides that). The forward runs under
      ``torch.no_grad()`` (for a frozen teacher) and
      ``torch.autocast(device_type=<device of the inputs>, dtype=...)``;
      with ``'fp32'`` any surrounding autocast (``AmpOptimWrapper``) is
      switched off for the teacher. The teacher's weights stay float32 (the
      low precision is autocast's, not the weights'), so checkpoints of
      such a run load into a float32 teacher and resume unchanged. Whatever
      the teacher computed in, its recorded features and logits reach the
      losses as float32. A non-finite low-precision feature is caught by
      the non-finite guard, which names the teacher recorder. Validation of
      the teacher (``FrozenTeacherDistillValLoop``) uses its ``val_step``
      in float32.
    - **A teacher that runs once per view.** With ``teacher_cache`` the
      teacher's recorders are filled, in training, from a cache of its
      outputs on every view of every training image
      (``tools/cache_teacher.py``), and its forward does not run; the
      losses see what they would see online, to the cache's storage
      precision. Validation still evaluates the teacher itself.

    Where the teacher's outputs come from is :attr:`teacher_outputs`
    (:mod:`projkd_mm.models.algorithms.teacher_outputs`); :meth:`record`
    records teacher, then student, for training and for the width dry run.

    Args:
        teacher_ckpt (str, optional): Local path or URL of the teacher's
            weights (mmpretrain/MMEngine checkpoint or a bare state dict).
        allow_random_teacher (bool): Build without ``teacher_ckpt``, leaving
            the teacher randomly initialised. Only for tests and for
            ``tools/test.py``, which loads all weights afterwards.
            Defaults to False.
        nonfinite (str): ``'raise'`` or ``'skip'``. Defaults to ``'raise'``.
        teacher_dtype (str): Precision of the teacher's forward:
            ``'fp32'``, ``'bf16'`` (CPU or a CUDA device with bfloat16
            support), ``'fp16'`` (CUDA only) or ``'auto'``: ``'bf16'``
            where the device computes bfloat16 natively (CUDA with
            ``torch.cuda.is_bf16_supported(including_emulation=False)``; a
            CPU whose oneDNN has bf16 kernels: AVX512, AVX512-BF16, AMX),
            ``'fp32'`` elsewhere and for a trainable teacher. The choice is
            logged at build time and kept in ``self.teacher_dtype``. Low
            precision is only for a frozen teacher. Defaults to
            ``'fp32'`` (the PEFD configs say ``'auto'``).
        teacher_memory_format (str): ``'contiguous'`` or
            ``'channels_last'``: the teacher module is converted to
            channels-last at build time and given its 4-d inputs in
            channels-last (faster convolutions on recent GPUs with
            ``'bf16'``/``'fp16'``). Parameter shapes, hence the state dict,
            are unchanged. Defaults to ``'contiguous'``.
        teacher_compile (bool): Run the teacher's forward through
            ``torch.compile`` (the teacher only; compiled at its first call,
            which takes a while). Defaults to False.
        input_size (Sequence[int], optional): Shape of one input without
            the batch dimension, e.g. ``(3, 224, 224)``. When set, one dry
            forward pass of teacher and student on a dummy batch of that
            shape, at build time, infers the widths a
            ``ProjectorEnsembleConnector`` leaves out (``in_channels`` /
            ``out_channels`` = None) and checks the given ones, so a width
            mismatch is an error before training starts; the widths are
            logged ("projector: 768 -> 512, 3 members"). Required when a
            width is left out. The pass leaves weights, BatchNorm
            statistics, train/eval flags and the global RNG as they were
            (:mod:`projkd_mm.models.algorithms.width_inference`). Defaults
            to None.
        teacher_cache (str, optional): Directory of a teacher cache built
            for this config by ``python tools/cache_teacher.py CONFIG --out
            DIR``. At build time its header must match the teacher
            checkpoint (SHA-256), the teacher's and the data preprocessor's
            config and the teacher recorders; before training,
            ``TeacherCacheHook`` checks the dataset and the pipeline. Any
            difference is an error naming the field and the command that
            rebuilds the cache. Only for a frozen teacher. Defaults to None
            (the teacher runs at every step).
        skip_checks (Sequence[str]): Names of the config checks of
            :mod:`projkd_mm.validation` not to run (``CHECKS``), e.g.
            ``['argument-side-names']`` for a loss whose argument names do
            not follow the ``s_*``/``t_*`` convention. Defaults to none.
        **kwargs: Passed to ``SingleTeacherDistill``.
    """

    def __init__(self,
                 *args,
                 teacher_ckpt: Optional[str] = None,
                 allow_random_teacher: bool = False,
                 nonfinite: str = 'raise',
                 teacher_dtype: str = 'fp32',
                 teacher_memory_format: str = 'contiguous',
                 teacher_compile: bool = False,
                 input_size: Optional[Sequence[int]] = None,
                 teacher_cache: Optional[str] = None,
                 skip_checks: Sequence[str] = (),
                 **kwargs) -> None:
        if nonfinite not in ('raise', 'skip'):
            raise ValueError("CheckedSingleTeacherDistill: nonfinite must be "
                             f"'raise' or 'skip', got {nonfinite!r}.")
        check_algorithm_options(
            dict(kwargs, allow_random_teacher=allow_random_teacher),
            skip_checks, input_size)
        if not teacher_ckpt and not allow_random_teacher:
            raise ValueError(
                'No teacher checkpoint: model.teacher_ckpt is not set, so the '
                'student would be distilled from a randomly initialised '
                'teacher. Set model.teacher_ckpt to the teacher\'s weights '
                '(e.g. --cfg-options model.teacher_ckpt=/path/teacher.pth), '
                'or set model.allow_random_teacher=True if that is really '
                'what you want.')
        check_distill_config(kwargs, skip_checks)
        check_teacher_options(teacher_dtype, teacher_memory_format,
                              teacher_compile,
                              kwargs.get('teacher_trainable', False))
        super().__init__(*args, teacher_ckpt=None, **kwargs)
        self.nonfinite = nonfinite
        self.nonfinite_skipped = 0
        if self.teacher_trainable:
            teacher_dtype = 'fp32'  # 'auto' of a trainable teacher
        teacher_dtype, why = resolve_teacher_dtype(teacher_dtype)
        if teacher_dtype == 'bf16' and not torch.cuda.is_available() and \
                not cpu_bf16_supported():
            MMLogger.get_current_instance().warning(
                "model.teacher_dtype='bf16' on a CPU without native bfloat16: "
                'the teacher runs through slow reference kernels (several '
                "times slower than fp32). model.teacher_dtype='auto' picks "
                'fp32 on such a CPU.')
        #: The teacher's forward precision as it runs: 'auto' resolved.
        self.teacher_dtype = teacher_dtype
        self.teacher_memory_format = teacher_memory_format
        self.teacher_compile = teacher_compile
        if teacher_ckpt:
            load_weights_strict(
                self.teacher, teacher_ckpt,
                f'teacher checkpoint (model.teacher_ckpt={teacher_ckpt!r})')
            # Keep init_weights() from overwriting the loaded weights.
            self.teacher._is_init = True
        if teacher_memory_format == 'channels_last':
            # Strides only: load_state_dict copies into these tensors and
            # .to(device) preserves their format.
            self.teacher.to(memory_format=torch.channels_last)
        #: The teacher's forward (also what the width dry run records).
        self.online_teacher = OnlineTeacher(
            self.teacher, self.distiller, teacher_dtype,
            teacher_memory_format, teacher_compile, self.teacher_trainable)
        #: Where training takes the teacher's outputs from.
        self.teacher_outputs = self.online_teacher
        if teacher_cache is not None:
            self.teacher_outputs = self._open_cache(
                teacher_cache, teacher_ckpt, kwargs)
        #: Shape of one input (without batch) for the width dry run.
        self.input_size = input_size
        infer_widths(self, input_size)
        MMLogger.get_current_instance().info(
            f'Teacher forward: {teacher_dtype}'
            f"{' autocast' if teacher_dtype != 'fp32' else ''}, "
            f'{teacher_memory_format}'
            f"{', compiled' if teacher_compile else ''} ({why}).")

    set_module_inplace_false = set_module_inplace_false

    def _open_cache(self, directory: str, teacher_ckpt: Optional[str],
                    kwargs: Dict) -> CachedTeacher:
        """The cache at ``directory``, checked against what this model
        knows of its teacher (the data are checked by TeacherCacheHook)."""
        if self.teacher_trainable:
            raise TeacherCacheError(
                'model.teacher_cache is set, but the teacher is trainable '
                '(model.teacher_trainable=True): a cache holds a frozen '
                "teacher's outputs. Drop one of the two.")
        if not teacher_ckpt or '://' in str(teacher_ckpt):
            raise TeacherCacheError(
                'model.teacher_cache needs model.teacher_ckpt to be a local '
                f'file (got {teacher_ckpt!r}): the cache is checked against '
                "the checkpoint's SHA-256.")
        if self.distiller.deliveries.deliveries:
            raise TeacherCacheError(
                'model.teacher_cache is set, but the distiller has '
                'deliveries, which replay what the teacher computes inside '
                'its forward: a cache does not run that forward. Train '
                'without model.teacher_cache.')
        store = TeacherCacheStore(directory)
        store.verify_checksums()
        expected = self.cache_fingerprint(teacher_ckpt, kwargs)
        store.check(expected, ('teacher_ckpt_sha256', 'teacher',
                               'data_preprocessor'))
        store.check_recorders(expected['recorders'])
        built = store.header.get('teacher_run', {})
        here = dict(dtype=self.teacher_dtype,
                    memory_format=self.teacher_memory_format)
        log = MMLogger.get_current_instance()
        if built != here:
            log.warning(
                f'Teacher cache {directory!r} was computed with the teacher '
                f'in {built}, this run would compute it in {here}: the '
                'cached outputs differ from online ones by that precision.')
        host = host_info()
        if store.header.get('host', {}).get('torch') != host['torch']:
            log.warning(f'Teacher cache {directory!r} was built with torch '
                        f"{store.header.get('host', {}).get('torch')}, this "
                        f"run has {host['torch']}.")
        log.info(f'Teacher outputs in training: cached, {directory} '
                 f'({store.num_images} images x {store.num_views} views, '
                 f"{store.header.get('storage_dtype')}).")
        return CachedTeacher(store, self.distiller)

    def cache_fingerprint(self, teacher_ckpt: str, kwargs: Dict) -> Dict:
        """What of this model a teacher cache depends on: the fields its
        header must match (the dataset and pipeline are the data's)."""
        return dict(
            teacher_ckpt_sha256=file_sha256(osp.expanduser(teacher_ckpt)),
            teacher=plain(kwargs.get('teacher')),
            data_preprocessor=plain(kwargs.get('data_preprocessor')),
            recorders=plain(kwargs['distiller'].get('teacher_recorders')))

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
        losses = self._losses(batch_inputs, data_samples)
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

    def record(self, batch_inputs: torch.Tensor,
               data_samples: Optional[List], mode: str = 'loss',
               teacher: Optional[Any] = None) -> tuple:
        """Record the teacher, then the student, through their recorders.

        The teacher's recorders are filled by ``teacher`` (default
        :attr:`teacher_outputs`: its forward, or the cache); deliveries
        record the teacher's data, then replay it to the student.

        Returns:
            tuple: What the teacher and the student returned (their losses
            in ``'loss'`` mode; a cached teacher returns ``{}``).
        """
        teacher = teacher if teacher is not None else self.teacher_outputs
        distiller = self.distiller
        distiller.set_deliveries_override(False)
        with distiller.teacher_recorders, distiller.deliveries:
            teacher_out = teacher(batch_inputs, data_samples, mode)
        distiller.set_deliveries_override(True)
        with distiller.student_recorders, distiller.deliveries:
            if self.student_trainable or self.calculate_student_loss:
                student_out = self.student(batch_inputs, data_samples,
                                           mode=mode)
            else:
                with torch.no_grad():
                    student_out = self.student(batch_inputs, data_samples,
                                               mode=mode)
        return teacher_out, student_out

    def _losses(self, batch_inputs: torch.Tensor,
                data_samples: Optional[List]) -> Dict[str, torch.Tensor]:
        """``SingleTeacherDistill.loss``, with the teacher's records from
        :attr:`teacher_outputs`."""
        losses = dict()
        teacher_losses, student_losses = self.record(batch_inputs,
                                                     data_samples)
        if self.teacher_trainable:
            losses.update(add_prefix(teacher_losses, 'teacher'))
        if self.calculate_student_loss:
            losses.update(add_prefix(student_losses, 'student'))
        if not self.distillation_stopped:
            losses.update(add_prefix(self.distiller.compute_distill_losses(),
                                     'distill'))
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
