import platform
import sys


def collect_env() -> dict:
    """Versions of the stack, for bug reports."""
    import mmcv
    import mmengine
    import mmpretrain
    import mmrazor
    import torch

    from projkd_mm import compat
    from projkd_mm.version import __version__
    env = {
        'projkd_mm': __version__,
        'Python': sys.version.split()[0],
        'platform': platform.platform(),
        'torch': torch.__version__,
        'CUDA available': torch.cuda.is_available(),
        'mmengine': mmengine.__version__,
        'mmcv': mmcv.__version__,
        'mmpretrain': mmpretrain.__version__,
        'mmrazor': mmrazor.__version__,
        'compatibility patches applied':
        ', '.join(compat.applied_patches()) or 'none',
    }
    for row in compat.status():
        env[f"workaround {row['name']}"] = row['state']
    if torch.cuda.is_available():
        env['GPU'] = torch.cuda.get_device_name(0)
    return env


def print_env() -> None:
    """Print :func:`collect_env` one ``key: value`` per line."""
    for key, value in collect_env().items():
        print(f'{key}: {value}')
