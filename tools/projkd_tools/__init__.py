"""Support code of this repository's tools (tools/*.py), in one place.

Not part of the projkd_mm library, which holds only what registered
modules and MMEngine's Runner use: this package finds files relative to the
repository (tools/train.py, configs/), parses command lines and runs
studies. The scripts under tools/ are thin: they parse their arguments
(with :mod:`projkd_tools.cli`, which imports nothing heavy, so ``--help``
answers at once) and call in here.

- :mod:`projkd_tools.cli`: shared flags, the converters' parser and
  command, importing projkd_mm the way every tool does.
- :mod:`projkd_tools.runner_setup`: config loading, CPU distributed runs.
- :mod:`projkd_tools.training`: work-dir safety of tools/train.py.
- :mod:`projkd_tools.experiment`: runs of tools/train.py and their curves.
- :mod:`projkd_tools.study`: the Fashion-MNIST ablation study.
- :mod:`projkd_tools.deploy`: ONNX export checked by onnxruntime
  (tools/deploy_student.py).
- :mod:`projkd_tools.checkpoint_diagnostics`: what kind of checkpoint a
  file is, and which config or tool fits it (the tools' errors).
"""
