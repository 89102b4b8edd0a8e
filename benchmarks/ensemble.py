"""The fused projector ensemble against a Python loop of ``nn.Linear``.

``ProjectorEnsembleConnector`` runs its ``q`` members as ONE matrix product
(a stacked ``(q * C, C)`` weight). The reference it is measured against is
the obvious form: ``q`` ``nn.Linear(C, C)`` modules called in a loop, each
followed by ReLU, then averaged. Both get the same ``(batch, C)`` student
feature (which requires grad, as in training) and run forward + backward.

    python benchmarks/ensemble.py --quick
    python benchmarks/ensemble.py

Prints, per width ``C`` and ensemble size ``q``: the median seconds of each
form, ``loop/fused`` (median of per-round ratios; > 1 means the fused form
is faster), and per width how the fused time grows from ``q=1`` to ``q=8``.
"""
import argparse
from typing import Callable

import torch
import torch.nn.functional as F
from common import (
    add_common_args,
    add_rounds_arg,
    emit,
    emit_verdict,
    median,
    median_ratio,
    setup,
    time_interleaved,
)
from mmrazor.registry import MODELS
from torch import nn

QS = (1, 2, 3, 4, 8)
WIDTHS = (256, 512, 1024, 2048)
BATCH = 256
# The fused form must not be slower than the loop; the margin only absorbs
# timer noise where both do the same work (q=1).
NOT_SLOWER = 0.95


class LoopEnsemble(nn.Module):
    """``q`` separate ``nn.Linear`` + ReLU members, averaged."""

    def __init__(self, channels: int, q: int) -> None:
        super().__init__()
        self.members = nn.ModuleList(
            nn.Linear(channels, channels) for _ in range(q))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.members[0](x))
        for member in self.members[1:]:
            out = out + F.relu(member(x))
        return out / len(self.members)


def fwd_bwd(module: nn.Module, x: torch.Tensor,
            grad: torch.Tensor) -> Callable[[], None]:
    inputs = [x, *module.parameters()]

    def step():
        torch.autograd.grad(module(x), inputs, grad)

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_common_args(parser)
    add_rounds_arg(parser)
    args = parser.parse_args()
    setup(args)
    warmup, steps = (1, 4) if args.quick else (3, 25)
    steps = args.rounds or steps
    emit(mode='quick' if args.quick else 'full', batch=BATCH,
         timed_rounds=steps)
    worst = float('inf')
    for width in WIDTHS:
        # All ensemble sizes of one width in the same rounds, so the
        # growth with q is a paired ratio too.
        x = torch.randn(BATCH, width, device=args.device,
                        requires_grad=True)
        grad = torch.randn(BATCH, width, device=args.device)
        variants = {}
        for q in QS:
            fused = MODELS.build(
                dict(type='ProjectorEnsembleConnector', in_channels=width,
                     out_channels=width, num_projectors=q)).to(args.device)
            loop = LoopEnsemble(width, q).to(args.device)
            variants[f'fused_q{q}'] = fwd_bwd(fused, x, grad)
            variants[f'loop_q{q}'] = fwd_bwd(loop, x, grad)
        times = time_interleaved(variants, warmup, steps, args.device)
        for q in QS:
            speedup = median_ratio(times, f'loop_q{q}', f'fused_q{q}')
            worst = min(worst, speedup)
            emit(**{
                f'w{width}_q{q}.fused_ms': 1e3 * median(times[f'fused_q{q}']),
                f'w{width}_q{q}.loop_ms': 1e3 * median(times[f'loop_q{q}']),
                f'w{width}_q{q}.loop_over_fused': speedup,
            })
        emit(**{f'w{width}.fused_q8_over_q1':
                median_ratio(times, 'fused_q8', 'fused_q1')})
    emit_verdict(worst >= NOT_SLOWER, worst_loop_over_fused=worst,
                 target=f'>={NOT_SLOWER}')


if __name__ == '__main__':
    main()
