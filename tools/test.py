"""Evaluate a checkpoint of a config with MMEngine's Runner.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

CHECKPOINT may be a distillation checkpoint (student, teacher and
projectors) or, with a plain mmpretrain config, an exported student.
"""
import argparse
import os.path as osp
import sys

TOOLS = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(TOOLS))
if TOOLS not in sys.path:
    sys.path.append(TOOLS)

# Light imports only up to parse_args(): torch, mmengine and projkd_mm are
# imported in main(), once the arguments are known to be good.
from projkd_tools.cli import (
    add_common_args,
    cfg_options_dict,
    import_projkd_mm,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='dump the metrics to this json/yaml/pkl file')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    import_projkd_mm()
    from projkd_tools.runner_setup import finish_distributed, load_config
    args.cfg_options = cfg_options_dict(args.cfg_options)
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    model_type = str(cfg.model.get('type', ''))
    if model_type.endswith('CheckedSingleTeacherDistill'):
        # The checkpoint holds the teacher too (teacher.*): skip fetching
        # teacher_ckpt, the Runner loads every weight from CHECKPOINT.
        cfg.model.teacher_ckpt = None
        cfg.model.allow_random_teacher = True

    from mmengine.model import is_model_wrapper

    # As OpenMMLab's tools do: the config's runner_type, if it names one.
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from projkd_mm.utils.safe_load import CheckpointError, load_checkpoint_file
    from projkd_mm.utils.state_dict import extract_state_dict
    from projkd_tools.checkpoint_diagnostics import check_checkpoint_fits
    runner = (RUNNERS.build(cfg) if 'runner_type' in cfg
              else Runner.from_cfg(cfg))
    model = runner.model.module if is_model_wrapper(runner.model) \
        else runner.model
    state_dict = extract_state_dict(
        load_checkpoint_file(args.checkpoint), 'checkpoint')
    try:
        check_checkpoint_fits(model, state_dict, args.checkpoint,
                              args.config)
    except CheckpointError as err:
        sys.exit(f'error: {err}')
    metrics = runner.test()
    finish_distributed()
    if args.out:
        import mmengine
        mmengine.dump(metrics, args.out)


if __name__ == '__main__':
    main()
