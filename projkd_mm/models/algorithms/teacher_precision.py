"""The teacher's forward precision: the values of ``model.teacher_dtype``
and ``model.teacher_memory_format``, and what ``'auto'`` resolves to."""
from typing import Tuple

import torch

#: ``model.teacher_dtype`` values and the dtype the teacher's forward
#: autocasts to (``'fp32'``: no autocast at all). ``'auto'`` becomes one of
#: them at build time: :func:`resolve_teacher_dtype`.
TEACHER_DTYPES = {
    'fp32': torch.float32,
    'bf16': torch.bfloat16,
    'fp16': torch.float16,
}
TEACHER_DTYPE_VALUES = ('auto', *TEACHER_DTYPES)
#: ``model.teacher_memory_format`` values.
TEACHER_MEMORY_FORMATS = {
    'contiguous': torch.contiguous_format,
    'channels_last': torch.channels_last,
}


def cuda_bf16_supported() -> bool:
    """Native (not emulated) bfloat16 on the current CUDA device."""
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # torch < 2.3 has no emulation and no argument
        return torch.cuda.is_bf16_supported()


def cpu_bf16_supported() -> bool:
    """Whether oneDNN runs bfloat16 convolutions natively on this CPU
    (AVX512 / AVX512-BF16 / AMX). Without it, bf16 autocast still runs but
    through slow reference kernels: 6.4x slower than fp32 for the
    Fashion-MNIST teacher on an AVX2-only CPU."""
    check = getattr(torch.ops.mkldnn, '_is_mkldnn_bf16_supported', None)
    return bool(check()) if check is not None else False


def resolve_teacher_dtype(teacher_dtype: str) -> Tuple[str, str]:
    """``model.teacher_dtype`` as it will run, and why.

    ``'auto'`` is ``'bf16'`` where the device the teacher runs on (CUDA if
    available, else the CPU) computes bfloat16 natively, and ``'fp32'``
    elsewhere; other values are returned as they are.
    """
    if teacher_dtype != 'auto':
        return teacher_dtype, f'model.teacher_dtype={teacher_dtype!r}'
    if torch.cuda.is_available():
        native = cuda_bf16_supported()
        device = f'CUDA device {torch.cuda.get_device_name()!r}'
    else:
        native = cpu_bf16_supported()
        device = 'this CPU'
    return ('bf16' if native else 'fp32',
            f"model.teacher_dtype='auto': {device} "
            f"{'has' if native else 'has no'} native bfloat16")
