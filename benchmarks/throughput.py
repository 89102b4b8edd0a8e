"""Images per second of the distillation step and of its limit, on one device.

Runs round-robin, on one synthetic batch already on the device:

- ``plugin``: the projector-ensemble step through MMRazor/MMEngine
  (``algorithm.train_step``, ``AmpOptimWrapper`` with ``--amp``),
- ``plain``: the same computation in plain PyTorch,
- ``limit``: teacher inference + a student training step (plain PyTorch),
- ``student_only``: the student trained alone by mmpretrain/MMEngine,

(``--compile`` compiles the train steps of ``plugin`` and ``student_only``
as MMEngine's ``cfg.compile=True`` does; ``plain`` and ``limit`` stay eager;
``--teacher-dtype`` / ``--teacher-memory-format`` run the plugin's frozen
teacher in its own precision and layout, while ``plain`` and ``limit`` keep
an fp32 teacher: then ``plugin_over_limit`` below 1 is the saving)

and prints images/s of each, the ratios to ``limit``, and on CUDA each
variant's peak memory on top of what lives between steps. Used by
``benchmarks/gpu.sh``; on a CPU it is a smoke test of the same code.

    python benchmarks/throughput.py --device cuda --batch 256 --amp bf16
"""
import argparse

import torch
from common import (
    Workload,
    add_common_args,
    emit,
    emit_verdict,
    median,
    median_ratio,
    setup,
    time_interleaved,
)


def cuda_step_peaks(work: Workload, device: str) -> dict:
    """Bytes each variant's step allocates on top of memory in use."""
    peaks = {}
    for name, step in work.variants().items():
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step()
        torch.cuda.synchronize(device)
        peaks[name] = torch.cuda.max_memory_allocated(device) - before
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_common_args(parser)
    parser.add_argument('--pair', default='r34_r18',
                        choices=['r34_r18', 'r32x4_r8x4'])
    parser.add_argument('--batch', type=int, default=256)
    parser.add_argument('--steps', type=int, default=30,
                        help='timed rounds (each runs every variant once)')
    parser.add_argument('--amp', choices=['none', 'bf16', 'fp16'],
                        default='none')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--teacher-dtype', default='fp32',
                        choices=['auto', 'fp32', 'bf16', 'fp16'],
                        help="the plugin's model.teacher_dtype")
    parser.add_argument('--teacher-memory-format', default='contiguous',
                        choices=['contiguous', 'channels_last'],
                        help="the plugin's model.teacher_memory_format")
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the train_step of plugin and '
                        'student_only, as MMEngine does for cfg.compile')
    args = parser.parse_args()
    setup(args)
    amp = None if args.amp == 'none' else args.amp
    cheap_teacher = (args.teacher_dtype != 'fp32' or
                     args.teacher_memory_format != 'contiguous')
    tag = (args.amp + ('_cl' if args.channels_last else '') +
           ('_compiled' if args.compile else '') +
           (f'_teacher_{args.teacher_dtype}' +
            ('_cl' if args.teacher_memory_format == 'channels_last' else '')
            if cheap_teacher else ''))
    work = Workload(args.pair, args.batch, args.device, amp=amp,
                    channels_last=args.channels_last, student_only=True,
                    teacher_dtype=args.teacher_dtype,
                    teacher_memory_format=args.teacher_memory_format,
                    seed=args.seed)
    if args.compile:  # plain and limit stay eager
        for model in (work.algorithm, work.classifier):
            model.train_step = torch.compile(model.train_step)
    warmup = min(5, args.steps)
    times = time_interleaved(work.variants(), warmup, args.steps,
                             args.device)
    emit(**{f'{tag}.pair': args.pair, f'{tag}.batch': args.batch,
            f'{tag}.timed_rounds': args.steps})
    for name, values in times.items():
        emit(**{f'{tag}.{name}.img_per_s': args.batch / median(values)})
    ratios = {name: median_ratio(times, name, 'limit')
              for name in ('plugin', 'plain', 'student_only')}
    emit(**{f'{tag}.{name}_over_limit': r for name, r in ratios.items()})
    if args.device.startswith('cuda'):
        peaks = cuda_step_peaks(work, args.device)
        emit(**{f'{tag}.{name}.step_peak_mb': peak / 2.0**20
                for name, peak in peaks.items()})
        emit(**{f'{tag}.plugin_over_limit.step_peak_mem':
                peaks['plugin'] / peaks['limit']})
    emit_verdict(ratios['plugin'] <= 1.05 * 1.03,
                 plugin_over_limit=ratios['plugin'],
                 plugin_img_per_s=args.batch / median(times['plugin']),
                 target=round(1.05 * 1.03, 4))


if __name__ == '__main__':
    main()
