"""What the benchmarks share: workloads built from the configs, the plain
PyTorch reference step, interleaved timing and ``name=value`` output.

A :class:`Workload` holds one teacher -> student pair three ways:

- ``plugin``: the algorithm built from the repository's config through the
  MMRazor/MMEngine registries, stepped with
  ``algorithm.train_step(data, optim_wrapper)`` exactly as the Runner does.
- ``plain``: the same computation written directly in PyTorch on copies of
  the same networks (same weights): teacher features under ``no_grad``,
  student forward/backward, the fused projector ensemble, the loss, SGD.
- ``limit``: what no distillation step can go below: teacher inference
  (backbone + pooling under ``no_grad``) plus one student training step
  (cross-entropy only), also in plain PyTorch.

Every variant starts from the same data: a list of ``uint8`` images and
``DataSample`` labels, which is what MMEngine's default ``pseudo_collate``
hands to ``train_step``.
"""
import argparse
import copy
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import projkd_mm  # noqa: E402,F401  (compat layer + registries)
from projkd_mm import zoo  # noqa: E402

# The two pairs of the issue: the ImageNet recipe and the CIFAR-100 one.
# The two pairs of docs/benchmarks.md, their configs from the zoo table.
PAIRS = {
    'r34_r18': dict(
        config='configs/projkd/imagenet/' + zoo.imagenet_pair(
            'ResNet34', 'ResNet18').config,
        image_size=224),
    'r32x4_r8x4': dict(
        config='configs/projkd/cifar100/' + zoo.cifar_pair(
            'resnet32x4', 'resnet8x4').config,
        image_size=32),
    # The full Fashion-MNIST study's pair (grey 28x28 images).
    'fmnist_study': dict(
        config='configs/projkd/fashion_mnist/'
        'pefd_resnet20s2_resnet8s2_5e_fmnist.py',
        image_size=28, channels=1),
}

AMP_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Flags every benchmark has."""
    parser.add_argument('--quick', action='store_true',
                        help='small sizes, finishes in under a minute on '
                        '2 CPU cores')
    # One thread by default: on a machine shared with other jobs, OpenMP
    # threads that wait at barriers for a descheduled sibling make every
    # figure noise (measured here: 2 threads under load 5 on 2 cores ran
    # 8x slower than 1 thread, with 2x spread between rounds).
    parser.add_argument('--threads', type=int, default=1,
                        help='torch intra-op threads on CPU (default: 1; '
                        f'this machine has {os.cpu_count()} cores)')
    parser.add_argument('--device', default='cpu',
                        help="'cpu' or 'cuda' (default: cpu)")
    parser.add_argument('--seed', type=int, default=0)


def add_rounds_arg(parser: argparse.ArgumentParser) -> None:
    """``--rounds``, for the benchmarks whose modes fix their timed rounds."""
    parser.add_argument(
        '--rounds', type=positive_int, metavar='N',
        help="timed rounds of each measurement (default: the mode's); "
        'fewer give noisier medians: 2 checks that the script runs')


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'{text} is not a positive integer')
    return value


def setup(args: argparse.Namespace) -> None:
    """Apply the common flags and print what the figures ran on."""
    from mmengine.logging import MMLogger

    # Stdout carries name=value lines only: the builds' log lines (e.g.
    # "Teacher forward: ...") would break that format. What they say that
    # matters is printed as figures.
    MMLogger.get_instance('projkd_mm_benchmarks', log_level='ERROR')
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    emit(machine=machine_name(args.device), threads=torch.get_num_threads(),
         torch=torch.__version__, python=platform.python_version())
    if args.device.startswith('cuda'):
        torch.backends.cudnn.benchmark = True
        # fp32 figures depend on these (PyTorch's defaults are kept).
        emit(cudnn_tf32=torch.backends.cudnn.allow_tf32,
             matmul_tf32=torch.backends.cuda.matmul.allow_tf32)


def machine_name(device: str = 'cpu') -> str:
    """The CPU (or GPU) model, as ``lscpu`` / CUDA names it."""
    if device.startswith('cuda') and torch.cuda.is_available():
        return torch.cuda.get_device_name(device).replace(' ', '_')
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        out = ''
    for line in out.splitlines():
        if line.startswith('Model name:'):
            return line.split(':', 1)[1].strip().replace(' ', '_')
    return platform.processor().replace(' ', '_') or 'unknown'


# --- output -----------------------------------------------------------------

def _fmt(value) -> str:
    if isinstance(value, float):
        return f'{value:.4g}'
    return str(value)


def emit(**figures) -> None:
    """Print one ``name=value`` line per figure."""
    for name, value in figures.items():
        print(f'{name}={_fmt(value)}', flush=True)


def emit_verdict(ok: bool, **figures) -> None:
    """The last line: ``verdict=<pass|fail> name=value ...``."""
    parts = ' '.join(f'{k}={_fmt(v)}' for k, v in figures.items())
    print(f"verdict={'pass' if ok else 'fail'} {parts}", flush=True)


# --- timing -----------------------------------------------------------------

def synchronizer(device: str) -> Callable[[], None]:
    """Waits for queued device work (a no-op on CPU)."""
    if device.startswith('cuda'):
        return torch.cuda.synchronize
    return lambda: None


def time_interleaved(variants: Dict[str, Callable[[], object]],
                     warmup: int,
                     steps: int,
                     device: str = 'cpu') -> Dict[str, List[float]]:
    """Seconds per call of each variant, measured round-robin.

    Every round calls each variant once, in an order rotated from round to
    round, so slow phases of a shared machine hit all variants alike. The
    first ``warmup`` rounds are not recorded.
    """
    sync = synchronizer(device)
    names = list(variants)
    times = {name: [] for name in names}
    for round_ in range(warmup + steps):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            sync()
            start = time.perf_counter()
            variants[name]()
            sync()
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def median(values: List[float]) -> float:
    return statistics.median(values)


def median_ratio(times: Dict[str, List[float]], num: str, den: str) -> float:
    """Median of the per-round ratios ``num / den``.

    Pairing the two variants of the same round cancels the machine's slow
    and fast phases better than a ratio of medians.
    """
    return statistics.median(a / b for a, b in zip(times[num], times[den]))


# --- workloads --------------------------------------------------------------

def load_config(pair: str):
    """The pair's config, ready to build without a teacher checkpoint."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, PAIRS[pair]['config']))
    cfg.model.teacher_ckpt = None
    cfg.model.allow_random_teacher = True  # timing needs no trained weights
    return cfg


def make_batch(batch: int, image_size: int, num_classes: int,
               seed: int = 0, channels: int = 3) -> dict:
    """Synthetic ``uint8`` images and labels, as ``pseudo_collate`` packs
    them: ``inputs`` a list of ``(channels, H, W)`` tensors,
    ``data_samples`` a list of ``DataSample``."""
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (batch, channels, image_size, image_size),
                           generator=g, dtype=torch.uint8)
    labels = torch.randint(0, num_classes, (batch, ), generator=g)
    return dict(inputs=list(images),
                data_samples=[DataSample().set_gt_label(int(label))
                              for label in labels])


def build_optim_wrapper(model: torch.nn.Module, cfg, amp: Optional[str]):
    """The config's optimizer in an ``OptimWrapper``, or the
    ``AmpOptimWrapper`` that ``tools/train.py --amp`` selects.

    mmengine 0.10.7 refuses ``AmpOptimWrapper`` without a GPU (an assert in
    its constructor) although its bf16 autocast path has a CPU branch; on
    CPU the assert is lifted here, only so that ``--amp`` runs of the
    benchmarks exercise the same code path they take on a GPU.
    """
    from mmengine.optim import build_optim_wrapper as build
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if amp is None:
        return build(model, optim_cfg)
    optim_cfg.type = 'AmpOptimWrapper'
    optim_cfg.dtype = {'bf16': 'bfloat16', 'fp16': 'float16'}[amp]
    if torch.cuda.is_available():
        return build(model, optim_cfg)
    from mmengine.optim.optimizer import amp_optimizer_wrapper as module
    original = module.is_cuda_available
    module.is_cuda_available = lambda: True
    try:
        return build(model, optim_cfg)
    finally:
        module.is_cuda_available = original


class Workload:
    """One teacher -> student pair, ready to step as plugin, plain or limit.

    Args:
        pair (str): A key of :data:`PAIRS`.
        batch (int): Images per step.
        device (str): ``'cpu'`` or ``'cuda'``.
        amp (str, optional): ``'bf16'`` or ``'fp16'`` autocast for every
            variant (the distillation loss stays fp32). Defaults to None.
        channels_last (bool): Convolution weights and inputs in
            channels-last layout. Defaults to False.
        student_only (bool): Also build the student as a plain mmpretrain
            classifier with its own optimizer wrapper, for
            :meth:`student_only_step`. Defaults to False.
        teacher_dtype (str): ``model.teacher_dtype`` of the plugin's
            algorithm (``'fp32'``, ``'bf16'``, ``'fp16'``), whatever the
            config says; ``plain`` and ``limit`` keep an fp32 teacher.
            Defaults to ``'fp32'``, so that ``plugin`` and ``plain`` are the
            same computation.
        teacher_memory_format (str): ``model.teacher_memory_format`` of the
            plugin's algorithm. Defaults to ``'contiguous'``.
        seed (int): Seed of the weights and the batch.
    """

    def __init__(self, pair: str, batch: int, device: str = 'cpu',
                 amp: Optional[str] = None, channels_last: bool = False,
                 student_only: bool = False, teacher_dtype: str = 'fp32',
                 teacher_memory_format: str = 'contiguous',
                 seed: int = 0) -> None:
        from mmpretrain.registry import MODELS as CLS_MODELS

        from projkd_mm.utils.build import build_model
        self.pair, self.batch, self.device = pair, batch, device
        self.amp = amp
        self.memory_format = (torch.channels_last
                              if channels_last else torch.contiguous_format)
        self.cfg = cfg = load_config(pair)
        cfg.model.teacher_dtype = teacher_dtype
        cfg.model.teacher_memory_format = teacher_memory_format
        torch.manual_seed(seed)

        # The plugin, as the Runner builds it. (A plain .to(device) keeps
        # the layout the algorithm chose for its teacher.)
        self.algorithm = build_model(cfg)
        if channels_last:
            self.algorithm.to(device, memory_format=torch.channels_last)
        else:
            self.algorithm.to(device)
        self.algorithm.train()
        self.optim_wrapper = build_optim_wrapper(self.algorithm, cfg, amp)
        num_classes = cfg.model.architecture.head.num_classes
        self.data = make_batch(batch, PAIRS[pair]['image_size'], num_classes,
                               seed, PAIRS[pair].get('channels', 3))
        if device != 'cpu':
            self.data = self.algorithm.data_preprocessor.cast_data(self.data)

        # The plain copies: freshly built modules (so ReLUs keep their
        # default inplace=True) holding the plugin's weights.
        def copy_of(module, model_cfg):
            fresh = CLS_MODELS.build(model_cfg)
            fresh.load_state_dict(module.state_dict())
            return fresh.to(device, memory_format=self.memory_format)

        self.student = copy_of(self.algorithm.student,
                               cfg.model.architecture).train()
        self.teacher = copy_of(self.algorithm.teacher,
                               cfg.model.teacher).eval()
        self.teacher.requires_grad_(False)
        connector = self.algorithm.distiller.connectors['projector']
        self.num_projectors = connector.num_projectors
        self.proj_weight = torch.nn.Parameter(
            connector.weight.detach().reshape(-1, connector.in_channels)
            .clone())
        self.proj_bias = torch.nn.Parameter(
            connector.bias.detach().reshape(-1).clone())
        # The members' activation as the connector's config built it
        # (act_cfg: ReLU in the PEFD configs, Identity for act_cfg=None).
        self.proj_act = copy.deepcopy(connector.act).to(device)
        self.loss_weight = (self.algorithm.distiller.distill_losses[
            'loss_pefd'].loss_weight)
        opt = dict(cfg.optim_wrapper.optimizer)
        opt.pop('type'), opt.pop('_scope_', None)
        self.optimizer = torch.optim.SGD(
            list(self.student.parameters()) +
            [self.proj_weight, self.proj_bias], **opt)
        # The limit's student trains on its own copy, with its own optimizer;
        # so does the floor's (the student step alone).
        self.limit_student = copy.deepcopy(self.student)
        self.limit_optimizer = torch.optim.SGD(
            self.limit_student.parameters(), **opt)
        self.floor_student = copy.deepcopy(self.student)
        self.floor_optimizer = torch.optim.SGD(
            self.floor_student.parameters(), **opt)
        self.scaler = torch.amp.GradScaler(
            device.split(':')[0], enabled=amp == 'fp16')
        preprocessor = self.algorithm.data_preprocessor
        self.to_rgb = preprocessor.to_rgb
        self.mean, self.std = preprocessor.mean, preprocessor.std
        self.labels = torch.cat(
            [s.gt_label for s in self.data['data_samples']]).to(device)
        if student_only:
            self.classifier = copy_of(
                self.algorithm.student,
                dict(cfg.model.architecture,
                     data_preprocessor=cfg.data_preprocessor)).train()
            self.classifier_optim_wrapper = build_optim_wrapper(
                self.classifier, cfg, amp)

    # -- plain PyTorch pieces --------------------------------------------

    def autocast(self):
        return torch.autocast(self.device.split(':')[0],
                              dtype=AMP_DTYPES.get(self.amp),
                              enabled=self.amp is not None)

    def preprocess(self) -> torch.Tensor:
        """Stack, RGB order, normalise: what ``ClsDataPreprocessor`` does."""
        x = torch.stack(self.data['inputs'])
        if self.to_rgb:
            x = x.flip(1)
        x = (x.float() - self.mean) / self.std
        return x.contiguous(memory_format=self.memory_format)

    def teacher_feature(self, x: torch.Tensor) -> torch.Tensor:
        """Teacher inference: pooled last-stage feature ``(N, C_t)``."""
        with torch.no_grad(), self.autocast():
            return F.adaptive_avg_pool2d(self.teacher.backbone(x)[-1],
                                         1).flatten(1)

    def _student_update(self, loss: torch.Tensor, optimizer) -> None:
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()
        optimizer.zero_grad(set_to_none=True)

    def plain_step(self) -> torch.Tensor:
        """The distillation step in plain PyTorch; returns the loss."""
        x = self.preprocess()
        t = self.teacher_feature(x)
        with self.autocast():
            s = F.adaptive_avg_pool2d(self.student.backbone(x)[-1],
                                      1).flatten(1)
            ce = F.cross_entropy(self.student.head.fc(s), self.labels)
            # Fused ensemble: one matmul for all q members, the
            # connector's activation, mean.
            p = F.linear(s, self.proj_weight, self.proj_bias)
            p = self.proj_act(p.view(s.shape[0], self.num_projectors,
                                     -1)).mean(1)
        p, t = F.normalize(p.float(), dim=1), F.normalize(t.float(), dim=1)
        kd = self.loss_weight * (p - t).pow(2).sum() / s.shape[0]
        loss = ce.float() + kd
        self._student_update(loss, self.optimizer)
        return loss.detach()

    def _student_ce_step(self, x: torch.Tensor, student, optimizer) -> None:
        with self.autocast():
            s = F.adaptive_avg_pool2d(student.backbone(x)[-1], 1).flatten(1)
            ce = F.cross_entropy(student.head.fc(s), self.labels)
        self._student_update(ce.float(), optimizer)

    def limit_step(self) -> None:
        """Teacher inference plus a student step with cross-entropy only."""
        x = self.preprocess()
        self.teacher_feature(x)
        self._student_ce_step(x, self.limit_student, self.limit_optimizer)

    def floor_step(self) -> None:
        """The student step with cross-entropy only, no teacher at all:
        what no distillation step can go below, however cheap its teacher.
        """
        self._student_ce_step(self.preprocess(), self.floor_student,
                              self.floor_optimizer)

    def plugin_step(self) -> Dict[str, torch.Tensor]:
        """One step of the plugin, exactly as MMEngine's train loop runs it.
        """
        return self.algorithm.train_step(self.data, self.optim_wrapper)

    def student_only_step(self) -> Dict[str, torch.Tensor]:
        """The student trained alone, by mmpretrain and MMEngine."""
        return self.classifier.train_step(self.data,
                                          self.classifier_optim_wrapper)

    def variants(self) -> Dict[str, Callable[[], object]]:
        """The timed steps: plugin, plain, limit (and student_only)."""
        variants = dict(plugin=self.plugin_step, plain=self.plain_step,
                        limit=self.limit_step)
        if hasattr(self, 'classifier'):
            variants['student_only'] = self.student_only_step
        return variants


def relative_loss_gap(work: Workload) -> float:
    """``|plugin - plain| / plain`` of the total loss on one shared step.

    Proves that ``plain`` is the plugin's computation: both start from the
    same weights and data, so their losses agree to rounding (and, as both
    then take the same SGD step, stay in step).
    """
    plugin = float(work.plugin_step()['loss'].detach())
    plain = float(work.plain_step())
    return abs(plugin - plain) / abs(plain)
