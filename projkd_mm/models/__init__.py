from projkd_mm.models import algorithms, backbones, connectors, losses  # noqa

__all__ = ['algorithms', 'backbones', 'connectors', 'losses']
