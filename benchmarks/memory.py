"""Peak memory of the distillation step against its limit.

Compares the ``plugin`` and ``plain`` distillation steps with ``limit``,
teacher inference followed by a student training step (see :mod:`common`).
Target: plugin/limit <= 1.10.

CPUs have no ``max_memory_allocated``; two independent accounts stand in:

- ``tensor``: every allocation and free of CPU tensor memory during one
  step, recorded by ``torch.profiler`` (``profile_memory=True``); the peak
  of the running sum is the most the step held on top of what existed
  before it (activations, gradients, temporaries). Exact, and blind to the
  C allocator.
- ``rss``: the process's peak resident memory (``VmHWM``, reset through
  ``/proc/self/clear_refs`` after two warm-up steps) minus its resident
  memory before the timed steps. Each variant runs in a fresh interpreter
  with ``MALLOC_MMAP_THRESHOLD_`` fixed, so glibc maps every large tensor
  separately and returns it on free: RSS then follows live tensors instead
  of heap caching from earlier steps.

``*_total_mb`` adds the memory the variant keeps between steps: its
weights, buffers and optimizer state (the teacher's weights count for
``limit`` too). ``*_step_mb`` is what the step adds at its peak.

    python benchmarks/memory.py --quick
    python benchmarks/memory.py
"""
import argparse
import gc
import json
import os
import re
import subprocess
import sys
from typing import Callable, Dict, Iterable

import torch
from common import Workload, add_common_args, emit, emit_verdict, setup

SIZES = {
    'quick': dict(r32x4_r8x4=16),
    'full': dict(r34_r18=32, r32x4_r8x4=64),
}
VARIANTS = ('plugin', 'plain', 'limit')
TARGET = 1.10
MB = 2.0**20


def _proc_status_kb(key: str) -> int:
    with open('/proc/self/status') as f:
        return int(re.search(rf'{key}:\s+(\d+)', f.read()).group(1))


def rss_step_peak(step: Callable[[], object], steps: int) -> float:
    """Bytes by which the peak RSS of ``steps`` steps exceeds the RSS
    before them."""
    gc.collect()
    before = _proc_status_kb('VmRSS')
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # resets VmHWM to the current RSS (Linux >= 4.0)
    for _ in range(steps):
        step()
    return (_proc_status_kb('VmHWM') - before) * 1024.0


def tensor_step_peak(step: Callable[[], object]) -> float:
    """Peak of the running sum of tensor allocations during one step."""
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU],
                 profile_memory=True) as prof:
        step()
    events, stack = [], list(
        prof.profiler.kineto_results.experimental_event_tree())
    while stack:
        node = stack.pop()
        if node.tag == _EventType.Allocation:
            events.append((node.start_time_ns, node.extra_fields.alloc_size))
        stack.extend(node.children)
    live = peak = 0
    for _, size in sorted(events):
        live += size
        peak = max(peak, live)
    return float(peak)


def kept_bytes(tensors: Iterable[torch.Tensor],
               optimizer: torch.optim.Optimizer) -> float:
    """Weights, buffers and optimizer state: what lives between steps."""
    sizes = {t.data_ptr(): t.numel() * t.element_size() for t in tensors}
    for state in optimizer.state.values():
        sizes.update({t.data_ptr(): t.numel() * t.element_size()
                      for t in state.values() if torch.is_tensor(t)})
    return float(sum(sizes.values()))


def module_tensors(*modules: torch.nn.Module) -> list:
    return [t for m in modules for t in (*m.parameters(), *m.buffers())]


def measure(work: Workload, variant: str) -> Dict[str, float]:
    """The child's job: both accounts of one variant."""
    step = work.variants()[variant]
    for _ in range(2):  # optimizer state exists from here on
        step()
    tensors, optimizer = {
        'plugin': (module_tensors(work.algorithm),
                   work.optim_wrapper.optimizer),
        'plain': (module_tensors(work.student, work.teacher) +
                  [work.proj_weight, work.proj_bias], work.optimizer),
        'limit': (module_tensors(work.limit_student, work.teacher),
                  work.limit_optimizer),
    }[variant]
    kept = kept_bytes(tensors, optimizer)
    rss = rss_step_peak(step, steps=2)
    tensor = tensor_step_peak(step)
    return dict(kept=kept, rss=rss, tensor=tensor)


def run_child(pair: str, batch: int, variant: str,
              args: argparse.Namespace) -> Dict[str, float]:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536')
    cmd = [sys.executable, os.path.abspath(__file__), '--child', variant,
           '--pair', pair, '--batch', str(batch), '--threads',
           str(args.threads), '--seed', str(args.seed)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_common_args(parser)
    # Set by the parent for the fresh interpreter of each variant.
    parser.add_argument('--child', choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument('--pair', help=argparse.SUPPRESS)
    parser.add_argument('--batch', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.device != 'cpu':
        parser.error('memory.py measures CPU memory; on a GPU, '
                     'torch.cuda.max_memory_allocated is the tool.')
    if args.child:
        torch.set_num_threads(args.threads)
        work = Workload(args.pair, args.batch, seed=args.seed)
        print(json.dumps(measure(work, args.child)))
        return

    setup(args)
    mode = 'quick' if args.quick else 'full'
    emit(mode=mode, **{
        'method.tensor': 'torch.profiler_allocation_events_one_step',
        'method.rss': 'VmHWM_growth_fresh_process_per_variant'})
    worst = 0.0
    for pair, batch in SIZES[mode].items():
        emit(**{f'{pair}.batch': batch})
        res = {v: run_child(pair, batch, v, args) for v in VARIANTS}
        for v in VARIANTS:
            emit(**{
                f'{pair}.{v}.kept_mb': res[v]['kept'] / MB,
                f'{pair}.{v}.tensor_step_mb': res[v]['tensor'] / MB,
                f'{pair}.{v}.rss_step_mb': res[v]['rss'] / MB,
            })
        for v in ('plugin', 'plain'):
            for account in ('tensor', 'rss'):
                step_ratio = res[v][account] / res['limit'][account]
                total_ratio = ((res[v]['kept'] + res[v][account]) /
                               (res['limit']['kept'] +
                                res['limit'][account]))
                emit(**{
                    f'{pair}.{v}_over_limit.{account}_step': step_ratio,
                    f'{pair}.{v}_over_limit.{account}_total': total_ratio,
                })
                if v == 'plugin':
                    worst = max(worst, total_ratio)
    emit_verdict(worst <= TARGET, worst_plugin_over_limit_total=worst,
                 target=TARGET)


if __name__ == '__main__':
    main()
