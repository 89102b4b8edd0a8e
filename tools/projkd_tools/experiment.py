"""Run configs through tools/train.py and read back their results.

Shared by tools/demo.py and tools/ablation.py: every run is a fresh
``tools/train.py`` process (the code path a user runs), its progress lines
are echoed, and its accuracy curve is read from MMEngine's ``scalars.json``.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@dataclass
class RunResult:
    """What one training run produced."""
    work_dir: str
    seconds: float
    # Per validation epoch: student (or plain model) top-1, in %.
    top1: List[float] = field(default_factory=list)
    # Per validation epoch: the teacher's top-1 in distillation runs.
    teacher_top1: List[float] = field(default_factory=list)

    @property
    def final(self) -> float:
        return self.top1[-1]

    @property
    def best(self) -> float:
        return max(self.top1)

    @property
    def last_checkpoint(self) -> str:
        with open(osp.join(self.work_dir, 'last_checkpoint')) as f:
            return f.read().strip()


def loader_options(data_root: str, train_indices=None) -> Dict:
    """cfg-options pointing every dataloader at ``data_root``."""
    options = {
        f'{loader}.dataset.data_root': data_root
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    }
    if train_indices is not None:
        options['train_dataloader.dataset.indices'] = train_indices
    return options


def read_val_curve(work_dir: str) -> Dict[str, List[float]]:
    """Validation metrics per epoch from the newest run in ``work_dir``."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not files:
        raise FileNotFoundError(f'No scalars.json under {work_dir}')
    curve: Dict[str, List[float]] = {}
    with open(files[-1]) as f:
        for line in f:
            record = json.loads(line)
            for key in ('accuracy/top1', 'teacher.accuracy/top1'):
                if key in record:
                    curve.setdefault(key, []).append(float(record[key]))
    return curve


def _format_option(value) -> str:
    if isinstance(value, (list, tuple)):
        return '[' + ','.join(_format_option(v) for v in value) + ']'
    if isinstance(value, str):
        return value
    return repr(value)


def train_config(config: str,
                 work_dir: str,
                 options: Optional[Dict] = None,
                 echo: bool = True,
                 label: str = '',
                 overwrite: bool = False,
                 env: Optional[Dict[str, str]] = None) -> RunResult:
    """Train ``config`` with tools/train.py in a fresh process.

    Args:
        config (str): Config path (absolute or relative to the repository).
        work_dir (str): Where the run writes logs and checkpoints.
        options (dict, optional): ``--cfg-options`` overrides.
        echo (bool): Echo the Runner's progress lines (``Epoch(...)`` with
            the ETA) while it runs; the full log is in ``work_dir``.
        label (str): Prefix for echoed lines.
        overwrite (bool): Pass ``--overwrite``: if ``work_dir`` holds the
            checkpoints of an earlier run, delete them and start over.
            Without it tools/train.py refuses such a work dir.
        env (dict, optional): Environment variables to set for the run
            (e.g. ``OMP_NUM_THREADS``).

    Raises:
        RuntimeError: The run failed; the message holds the end of its log.
    """
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), config,
           '--work-dir', work_dir]
    if overwrite:
        cmd.append('--overwrite')
    if options:
        cmd.append('--cfg-options')
        cmd += [f'{k}={_format_option(v)}' for k, v in options.items()]
    env = dict(os.environ, **(env or {}))
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    start = time.time()
    tail: List[str] = []
    with subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            tail = (tail + [line])[-60:]
            if echo and ('Epoch(' in line or 'ERROR' in line
                         or line.startswith('--overwrite:')):
                print(f'{label}{line}', end='', flush=True)
        proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f'Training {config} failed (exit code '
                           f'{proc.returncode}). End of its output:\n' +
                           ''.join(tail))
    curve = read_val_curve(work_dir)
    return RunResult(work_dir=work_dir, seconds=time.time() - start,
                     top1=curve.get('accuracy/top1', []),
                     teacher_top1=curve.get('teacher.accuracy/top1', []))
