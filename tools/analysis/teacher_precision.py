"""Does the cheap teacher predict what the fp32 teacher predicts?

    python tools/analysis/teacher_precision.py TEACHER_CKPT
        [--config DISTILL_CONFIG] [--data-root DIR]
        [--modes bf16:channels_last bf16:contiguous ...]

DISTILL_CONFIG defaults to the Fashion-MNIST demo's
(configs/projkd/fashion_mnist/pefd_resnet14_resnet8_10e_fmnist.py).
Builds the distillation config's algorithm with TEACHER_CKPT once per
teacher mode (``fp32:contiguous`` first) and runs the teacher's
training-time forward (``CheckedSingleTeacherDistill.online_teacher``: the
code path of every distillation step) over the config's whole test set.
Prints, per mode: test top-1, the difference to fp32 in points, the share of
test images whose top-1 prediction agrees with fp32's, the largest absolute
logit difference and the seconds the teacher's forward took over the test
set (data loading excluded); then ``verdict=pass`` if every mode is within
0.1 point of fp32 and agrees on at least 99.5 % of the images.
"""
import argparse
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(REPO, 'configs', 'projkd', 'fashion_mnist',
                          'pefd_resnet14_resnet8_10e_fmnist.py')
MAX_TOP1_DIFF = 0.1
MIN_AGREEMENT = 99.5


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('teacher_ckpt')
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='a distillation config (default: the '
                        "Fashion-MNIST demo's)")
    parser.add_argument('--data-root',
                        help='Fashion-MNIST idx folder (default: '
                        'data/fashion_mnist, then the Debian package)')
    parser.add_argument('--modes', nargs='+',
                        default=['bf16:channels_last', 'bf16:contiguous',
                                 'fp32:channels_last'],
                        help='DTYPE:MEMORY_FORMAT pairs compared with '
                        'fp32:contiguous')
    parser.add_argument('--threads', type=int, default=None)
    return parser.parse_args(argv)


def predictions(cfg, mode: str, loader):
    """Top-1 predictions, logits and labels of the teacher in ``mode``,
    and the seconds its forward took."""
    import time

    import torch

    from projkd_mm.utils.build import build_model
    dtype, memory_format = mode.split(':')
    model = build_model(cfg, teacher_dtype=dtype,
                        teacher_memory_format=memory_format).eval()
    logits, labels, seconds = [], [], 0.0
    for data in loader:
        data = model.data_preprocessor(data, training=False)
        start = time.perf_counter()
        out = model.online_teacher(data['inputs'], None, mode='tensor')
        seconds += time.perf_counter() - start
        logits.append(out.float())
        labels.append(torch.cat([s.gt_label for s in data['data_samples']]))
    logits = torch.cat(logits)
    return logits.argmax(1), logits, torch.cat(labels), seconds


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, REPO)
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    import projkd_mm  # noqa: F401  (registries)
    from projkd_mm.datasets import DEBIAN_FASHION_MNIST, prepare_idx_dataset
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    cfg.model.teacher_ckpt = args.teacher_ckpt
    if 'FashionMNIST' in cfg.test_dataloader.dataset.type:
        default = osp.join(REPO, 'data', 'fashion_mnist')
        search = ([args.data_root] if args.data_root else
                  [default, DEBIAN_FASHION_MNIST])
        cfg.test_dataloader.dataset.data_root = prepare_idx_dataset(
            search, default)
    elif args.data_root:
        cfg.test_dataloader.dataset.data_root = args.data_root
    loader = Runner.build_dataloader(cfg.test_dataloader)

    with torch.no_grad():
        ref_pred, ref_logits, labels, ref_seconds = predictions(
            cfg, 'fp32:contiguous', loader)
    ref_top1 = 100.0 * (ref_pred == labels).float().mean().item()
    print(f'config={osp.relpath(args.config, REPO)}')
    print(f'teacher_ckpt={args.teacher_ckpt}')
    print(f'test_images={len(labels)}')
    print(f'fp32:contiguous.top1={ref_top1:.2f}')
    print(f'fp32:contiguous.forward_s={ref_seconds:.2f}')
    ok, worst_diff, worst_agree = True, 0.0, 100.0
    for mode in args.modes:
        with torch.no_grad():
            pred, logits, _, seconds = predictions(cfg, mode, loader)
        top1 = 100.0 * (pred == labels).float().mean().item()
        agree = 100.0 * (pred == ref_pred).float().mean().item()
        diff = top1 - ref_top1
        print(f'{mode}.top1={top1:.2f}')
        print(f'{mode}.top1_minus_fp32={diff:+.2f}')
        print(f'{mode}.agreement_with_fp32_pct={agree:.2f}')
        print(f'{mode}.max_abs_logit_diff='
              f'{(logits - ref_logits).abs().max().item():.4g}')
        print(f'{mode}.forward_s={seconds:.2f}')
        print(f'{mode}.forward_over_fp32={seconds / ref_seconds:.3f}')
        worst_diff = max(worst_diff, abs(diff))
        worst_agree = min(worst_agree, agree)
        ok = ok and abs(diff) <= MAX_TOP1_DIFF and agree >= MIN_AGREEMENT
    print(f"verdict={'pass' if ok else 'fail'} "
          f'worst_abs_top1_diff={worst_diff:.2f} '
          f'worst_agreement_pct={worst_agree:.2f} '
          f'targets={MAX_TOP1_DIFF}/{MIN_AGREEMENT}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
