"""The distillation step with a cheap frozen teacher vs the fp32 limit.

For each pair of :mod:`overhead` (ResNet34 -> ResNet18 at 224 px, CIFAR
resnet32x4 -> resnet8x4 at 32 px), four steps run round-robin on the same
batch (see :mod:`common`):

- ``cheap``: the plugin's step (``algorithm.train_step``) with the teacher
  in its own precision and layout (``--teacher-dtype``,
  ``--teacher-memory-format``; by default the configs' ``'auto'`` and
  ``'channels_last'``: bf16 where the device computes it natively, else
  fp32; ``teacher_dtype=`` prints what it became); the student trains in
  fp32.
- ``fp32``: the same plugin step with an fp32, contiguous teacher.
- ``limit``: fp32 teacher inference + a student step with cross-entropy
  (plain PyTorch): what the plugin step with an fp32 teacher cannot go
  below.
- ``floor``: the student step alone (plain PyTorch, no teacher): what no
  distillation step can go below.

Target: ``cheap_over_limit <= 0.75`` for both pairs. Also printed: the
floor (``floor_over_limit``), how close the step gets to it
(``cheap_over_floor``, and ``teacher_cost_removed``: the share of
``limit - floor`` the cheap step no longer pays) and the teacher's forward
alone in both modes (``teacher_cheap_over_fp32``).

    python benchmarks/cheap_teacher.py --quick    # < 1 minute on 2 cores
    python benchmarks/cheap_teacher.py            # the figures of docs/
"""
import argparse

from common import (
    Workload,
    add_common_args,
    add_rounds_arg,
    emit,
    emit_verdict,
    median,
    median_ratio,
    setup,
    time_interleaved,
)

# (batch, warm-up rounds, timed rounds) per pair, as in overhead.py.
SIZES = {
    'quick': dict(r34_r18=(2, 1, 8), r32x4_r8x4=(16, 1, 8)),
    'full': dict(r34_r18=(32, 2, 15), r32x4_r8x4=(64, 2, 15)),
}
TARGET = 0.75


def teacher_forwards(fp32: Workload, cheap: Workload, device: str,
                     warmup: int, steps: int) -> dict:
    """Seconds of the teacher's training-time forward alone, both modes,
    through the algorithm's own teacher path (recorders included)."""
    data = fp32.algorithm.data_preprocessor(fp32.data, training=True)
    x, samples = data['inputs'], data['data_samples']

    def forward(work):
        def run():
            distiller = work.algorithm.distiller
            with distiller.teacher_recorders, distiller.deliveries:
                work.algorithm.online_teacher(x, samples, mode='loss')
        return run

    return time_interleaved(dict(fp32=forward(fp32), cheap=forward(cheap)),
                            warmup, steps, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_common_args(parser)
    add_rounds_arg(parser)
    parser.add_argument('--teacher-dtype', default='auto',
                        choices=['auto', 'fp32', 'bf16', 'fp16'])
    parser.add_argument('--teacher-memory-format', default='channels_last',
                        choices=['contiguous', 'channels_last'])
    parser.add_argument('--teacher-compile', action='store_true',
                        help='also torch.compile the cheap teacher')
    args = parser.parse_args()
    setup(args)
    mode = 'quick' if args.quick else 'full'
    emit(mode=mode, teacher_memory_format=args.teacher_memory_format,
         teacher_compile=args.teacher_compile)
    worst = 0.0
    for pair, (batch, warmup, steps) in SIZES[mode].items():
        steps = args.rounds or steps
        fp32 = Workload(pair, batch, args.device, seed=args.seed)
        cheap = Workload(pair, batch, args.device, seed=args.seed,
                         teacher_dtype=args.teacher_dtype,
                         teacher_memory_format=args.teacher_memory_format)
        if args.teacher_compile:
            cheap.algorithm.teacher_compile = True
        # 'auto' as it resolved on this machine.
        emit(**{f'{pair}.teacher_dtype': cheap.algorithm.teacher_dtype})
        times = time_interleaved(
            dict(cheap=cheap.plugin_step, fp32=fp32.plugin_step,
                 limit=cheap.limit_step, floor=cheap.floor_step),
            warmup, steps, args.device)
        teacher = teacher_forwards(fp32, cheap, args.device, warmup,
                                   2 * steps)
        cheap_over_limit = median_ratio(times, 'cheap', 'limit')
        worst = max(worst, cheap_over_limit)
        limit, floor = median(times['limit']), median(times['floor'])
        emit(**{
            f'{pair}.batch': batch,
            f'{pair}.timed_rounds': steps,
            f'{pair}.cheap_s': median(times['cheap']),
            f'{pair}.fp32_s': median(times['fp32']),
            f'{pair}.limit_s': limit,
            f'{pair}.floor_s': floor,
            f'{pair}.cheap_over_limit': cheap_over_limit,
            f'{pair}.fp32_over_limit': median_ratio(times, 'fp32', 'limit'),
            f'{pair}.cheap_over_fp32': median_ratio(times, 'cheap', 'fp32'),
            f'{pair}.floor_over_limit': median_ratio(times, 'floor',
                                                     'limit'),
            f'{pair}.cheap_over_floor': median_ratio(times, 'cheap',
                                                     'floor'),
            f'{pair}.teacher_cost_removed':
            (limit - median(times['cheap'])) / (limit - floor),
            f'{pair}.teacher_fp32_ms': 1e3 * median(teacher['fp32']),
            f'{pair}.teacher_cheap_ms': 1e3 * median(teacher['cheap']),
            f'{pair}.teacher_cheap_over_fp32': median_ratio(
                teacher, 'cheap', 'fp32'),
        })
    emit_verdict(worst <= TARGET, worst_cheap_over_limit=worst,
                 target=TARGET)


if __name__ == '__main__':
    main()
