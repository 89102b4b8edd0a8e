from projkd_mm.models import (  # noqa: F401
    algorithms,
    backbones,
    connectors,
    distillers,
    layers,
    losses,
)

__all__ = ['algorithms', 'backbones', 'connectors', 'distillers', 'layers',
           'losses']
