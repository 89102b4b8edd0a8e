"""What the plugin costs on top of the distillation step's own computation.

For each teacher -> student pair, three steps run round-robin on the same
batch (see :mod:`common`): ``plugin`` (``algorithm.train_step`` built from
the config through the registries), ``plain`` (the same computation in
plain PyTorch) and ``limit`` (teacher inference + a student training step).
Targets: plugin/plain <= 1.05 and plain/limit <= 1.03.

    python benchmarks/overhead.py --quick     # < 1 minute on 2 cores
    python benchmarks/overhead.py             # the figures of docs/

Prints ``name=value`` lines (seconds are medians over the timed rounds,
ratios are medians of the per-round ratios), where the plugin step's time
goes (``plugin_part.*``) and a final ``verdict=`` line.
"""
import argparse
import time
from typing import Dict, List

import torch
from common import (
    Workload,
    add_common_args,
    add_rounds_arg,
    emit,
    emit_verdict,
    median,
    median_ratio,
    relative_loss_gap,
    setup,
    synchronizer,
    time_interleaved,
)

# (batch, warm-up rounds, timed rounds) per pair. Full: the batch of the
# CIFAR recipe (64) and a per-GPU ImageNet batch (32).
SIZES = {
    'quick': dict(r34_r18=(2, 1, 12), r32x4_r8x4=(16, 1, 12)),
    'full': dict(r34_r18=(32, 2, 15), r32x4_r8x4=(64, 2, 15)),
}

PLUGIN_OVER_PLAIN = 1.05
PLAIN_OVER_LIMIT = 1.03


def projkd_seconds(work: Workload, device: str, steps: int) -> float:
    """Forward + backward of what projkd_mm adds (projector ensemble and
    loss) on the features the last plugin step recorded."""
    distiller = work.algorithm.distiller
    s = distiller.get_record('feat', from_student=True, data_idx=0)
    t = distiller.get_record('feat', from_student=False, data_idx=0)
    s = s.detach().requires_grad_()
    connector = distiller.connectors['projector']
    loss_module = distiller.distill_losses['loss_pefd']
    inputs = [s, *connector.parameters()]

    def step():
        torch.autograd.grad(loss_module(connector(s), t), inputs)

    return median(time_interleaved(dict(projkd=step), 3, steps,
                                   device)['projkd'])


def instrument(work: Workload, device: str) -> Dict[str, List[float]]:
    """Time the parts of every later plugin step, by wrapping (on these
    instances only) the methods MMEngine and MMRazor call once per step."""
    sync = synchronizer(device)
    alg, optim_wrapper = work.algorithm, work.optim_wrapper
    parts = {}
    for name, owner, method in (
            ('preprocess', alg.data_preprocessor, 'forward'),
            ('teacher_forward', alg.teacher, 'forward'),
            ('student_forward', alg.student, 'forward'),
            ('projector_and_loss', alg.distiller, 'compute_distill_losses'),
            ('backward', optim_wrapper, 'backward'),
            ('optimizer_step', optim_wrapper, 'step'),
            ('zero_grad', optim_wrapper, 'zero_grad')):
        parts[name] = times = []

        def timed(*args, _fn=getattr(owner, method), _times=times, **kw):
            sync()
            start = time.perf_counter()
            result = _fn(*args, **kw)
            sync()
            _times.append(time.perf_counter() - start)
            return result

        setattr(owner, method, timed)
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_common_args(parser)
    add_rounds_arg(parser)
    args = parser.parse_args()
    setup(args)
    mode = 'quick' if args.quick else 'full'
    emit(mode=mode)
    worst_plugin, worst_plain = 0.0, 0.0
    for pair, (batch, warmup, steps) in SIZES[mode].items():
        steps = args.rounds or steps
        work = Workload(pair, batch, args.device, seed=args.seed)
        gap = relative_loss_gap(work)  # also the first warm-up round
        parts = instrument(work, args.device)
        times = time_interleaved(work.variants(), warmup, steps, args.device)
        parts = {name: values[-steps:] for name, values in parts.items()}
        # MMEngine/MMRazor glue: parse_losses, recorder contexts, the
        # non-finite guard, ...: the step minus its timed parts.
        parts['other'] = [total - sum(round_) for total, round_ in zip(
            times['plugin'], zip(*parts.values()))]
        plugin_over_plain = median_ratio(times, 'plugin', 'plain')
        plain_over_limit = median_ratio(times, 'plain', 'limit')
        worst_plugin = max(worst_plugin, plugin_over_plain)
        worst_plain = max(worst_plain, plain_over_limit)
        projkd = projkd_seconds(work, args.device, 10 * steps)
        overhead = median([a - b for a, b in zip(times['plugin'],
                                                 times['plain'])])
        emit(**{
            f'{pair}.batch': batch,
            f'{pair}.timed_rounds': steps,
            f'{pair}.loss_rel_gap_plugin_vs_plain': gap,
            f'{pair}.plugin_s': median(times['plugin']),
            f'{pair}.plain_s': median(times['plain']),
            f'{pair}.limit_s': median(times['limit']),
            f'{pair}.plugin_img_per_s': batch / median(times['plugin']),
            f'{pair}.plugin_minus_plain_ms': 1e3 * overhead,
            f'{pair}.projector_and_loss_ms': 1e3 * projkd,
            f'{pair}.projector_and_loss_share_of_limit':
            projkd / median(times['limit']),
            f'{pair}.plugin_over_plain': plugin_over_plain,
            f'{pair}.plain_over_limit': plain_over_limit,
        })
        emit(**{f'{pair}.plugin_part.{name}_ms': 1e3 * median(values)
                for name, values in parts.items()})
    emit_verdict(
        worst_plugin <= PLUGIN_OVER_PLAIN and worst_plain <= PLAIN_OVER_LIMIT,
        worst_plugin_over_plain=worst_plugin,
        worst_plain_over_limit=worst_plain,
        targets=f'{PLUGIN_OVER_PLAIN}/{PLAIN_OVER_LIMIT}')


if __name__ == '__main__':
    main()
