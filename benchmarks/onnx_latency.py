"""Inference latency of the deployed student: PyTorch eager vs onnxruntime.

The demo's student (ResNet-8 of configs/projkd/fashion_mnist/, or the
weights given with --checkpoint, e.g. work_dirs/demo/student_distilled.pth)
as tools/deploy_student.py exports it: pixels -> normalisation -> logits,
the same module both ways. Round-robin (see :mod:`common`), at batch 1 and
batch 64:

- ``eager``: the mmpretrain model in PyTorch (``torch.no_grad``),
- ``onnxruntime``: the ONNX file (opset 18) on onnxruntime's CPU provider,
  with as many intra-op threads as torch (``--threads``).

Prints milliseconds per image of each, ``eager_over_onnxruntime`` (the
median per-round ratio), both files' sizes, and the largest logit
difference between the two on the timed batches (the verdict: at most
1e-4, as tools/deploy_student.py demands; the timings have no target).

    python benchmarks/onnx_latency.py --quick    # seconds on 2 cores
    python benchmarks/onnx_latency.py            # the figures of docs/
"""
import argparse
import os
import os.path as osp
import sys
import tempfile

import torch
from common import (
    REPO,
    add_common_args,
    emit,
    emit_verdict,
    median,
    median_ratio,
    setup,
    time_interleaved,
)

sys.path.append(osp.join(REPO, 'tools'))
STUDENT = osp.join(REPO, 'configs', 'projkd', 'fashion_mnist',
                   'resnet8_10e_fmnist.py')
# (warm-up rounds, timed rounds) per batch size.
SIZES = {
    'quick': {1: (2, 10), 64: (1, 3)},
    'full': {1: (50, 500), 64: (5, 60)},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_common_args(parser)
    parser.add_argument('--config', default=STUDENT,
                        help='plain mmpretrain config of the student')
    parser.add_argument('--checkpoint',
                        help='its weights (default: seeded initial weights; '
                        'latency does not depend on them)')
    args = parser.parse_args()
    if args.device != 'cpu':
        parser.error('onnxruntime runs here on CPU only: --device cpu')
    setup(args)
    from mmengine.config import Config

    from projkd_mm.utils.export import build_classifier
    from projkd_mm.utils.state_dict import load_weights_strict
    from projkd_tools.deploy import (
        OPSET,
        export_onnx,
        logits_model,
        require_deploy_extra,
    )
    onnxruntime = require_deploy_extra()
    mode = 'quick' if args.quick else 'full'
    emit(mode=mode, onnxruntime=onnxruntime.__version__, opset=OPSET,
         config=osp.relpath(args.config, REPO))

    cfg = Config.fromfile(args.config)
    classifier = build_classifier(cfg)
    if args.checkpoint:
        load_weights_strict(classifier, args.checkpoint, 'student weights')
    model = logits_model(classifier)
    shape = (1, 28, 28)
    with tempfile.TemporaryDirectory() as tmp:
        weights = osp.join(tmp, 'student.pth')
        torch.save({'state_dict': classifier.state_dict()}, weights)
        onnx_path = osp.join(tmp, 'student.onnx')
        sample = torch.randint(0, 256, (2, *shape)).float()
        export_onnx(model, sample, args.config).save(onnx_path,
                                                     external_data=False)
        emit(pth_kib=os.path.getsize(weights) / 1024,
             onnx_kib=os.path.getsize(onnx_path) / 1024)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            onnx_path, options, providers=['CPUExecutionProvider'])

    max_diff = 0.0
    for batch, (warmup, steps) in SIZES[mode].items():
        x = torch.randint(0, 256, (batch, *shape),
                          generator=torch.Generator().manual_seed(args.seed))
        x = x.float()
        x_np = x.numpy()

        def eager():
            with torch.no_grad():
                return model(x)

        def ort():
            return session.run(['logits'], {'inputs': x_np})[0]

        max_diff = max(max_diff, float(
            (torch.from_numpy(ort()) - eager()).abs().max()))
        times = time_interleaved(dict(eager=eager, onnxruntime=ort), warmup,
                                 steps)
        emit(**{
            f'b{batch}_eager_ms_per_image':
            median(times['eager']) / batch * 1e3,
            f'b{batch}_onnxruntime_ms_per_image':
            median(times['onnxruntime']) / batch * 1e3,
            f'b{batch}_eager_over_onnxruntime':
            median_ratio(times, 'eager', 'onnxruntime'),
        })
    emit_verdict(max_diff <= 1e-4, max_logit_diff=max_diff)


if __name__ == '__main__':
    main()
