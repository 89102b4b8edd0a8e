"""projkd_mm: feature distillation with projector ensembles for OpenMMLab.

``import projkd_mm`` (or ``custom_imports=dict(imports=['projkd_mm'])`` in a
config) registers this package's components and imports the mmrazor and
mmpretrain modules whose registries the configs use. To make mmrazor 1.0.0
importable on torch 2 it restores a few torch names mmrazor imports (only
where they are missing); it changes nothing else in the process. Every other
workaround for upstream bugs is a component a config selects, a step of
this repository's tools, or a patch enabled by name: see
:mod:`projkd_mm.compat` and docs/faq.md.
"""
from projkd_mm import compat

compat.apply()

# mmrazor's registries have no ``locations``: their modules must be imported
# before a config can be built.
import mmpretrain.models  # noqa: E402,F401
import mmrazor.engine  # noqa: E402,F401
import mmrazor.models  # noqa: E402,F401

from projkd_mm import datasets, engine, fileio, models  # noqa: E402,F401
from projkd_mm.utils.env import print_env  # noqa: E402
from projkd_mm.version import __version__  # noqa: E402

__all__ = ['__version__', 'print_env']
