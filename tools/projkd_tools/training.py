"""Work-dir safety and the Runner of tools/train.py.

A fresh run never overwrites an earlier run's checkpoints, two runs never
share a work dir, ``--resume`` says what it resumes from (or why it
cannot), and the Runner optionally puts the model in channels-last layout.
"""
import contextlib
import os
import os.path as osp
import re
import sys


def warn_inexact_resume(cfg) -> None:
    """Say so when the loader settings make a resume differ."""
    loader = cfg.get('train_dataloader') or {}
    if loader.get('num_workers', 0) and loader.get('persistent_workers'):
        print('warning: resuming with train_dataloader.num_workers='
              f"{loader['num_workers']} and persistent_workers=True: the "
              "workers' random generators restart after a resume, so data "
              'augmentation (and the final weights) will differ from an '
              'uninterrupted run. For an exact resume pass --cfg-options '
              'train_dataloader.persistent_workers=False (or '
              'train_dataloader.num_workers=0); see docs/faq.md.',
              file=sys.stderr)


# The names MMEngine's CheckpointHook gives checkpoints by default
# (filename_tmpl 'epoch_{}.pth' or 'iter_{}.pth'; save_best's
# 'best_<metric>_<name>'), with the epoch or iteration number in '{}'.
DEFAULT_TEMPLATES = ('epoch_{}.pth', 'iter_{}.pth')


def _checkpoint_template(cfg):
    hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    return hook.get('filename_tmpl')


def check_work_dir(cfg) -> None:
    """SystemExit before anything is written: a work dir that is a file,
    or a checkpoint name (``default_hooks.checkpoint.filename_tmpl``) that
    leaves the work dir (``'../x_{}.pth'``, an absolute path)."""
    work_dir = cfg.work_dir
    if osp.exists(work_dir) and not osp.isdir(work_dir):
        sys.exit(f'error: the work dir {work_dir} is a file, not a folder: '
                 'a run writes its logs and checkpoints into a folder. '
                 'Pass another --work-dir (or move the file).')
    template = _checkpoint_template(cfg)
    if template is None:
        return
    if not isinstance(template, str) or '{' not in template:
        sys.exit(f'error: default_hooks.checkpoint.filename_tmpl='
                 f'{template!r}: it must be a file name with {{}} where the '
                 "epoch or iteration goes, e.g. 'epoch_{}.pth'.")
    name = osp.normpath(re.sub(r'\{[^}]*\}', '1', template))
    if osp.isabs(name) or name == '..' or name.startswith('..' + osp.sep):
        sys.exit(f'error: default_hooks.checkpoint.filename_tmpl='
                 f'{template!r} names files outside the work dir '
                 f'({name!r} from {work_dir}): a run writes only into its '
                 "work dir. Use a plain file name such as 'epoch_{}.pth', "
                 'and --work-dir for where it goes. Nothing was written.')


def _pattern(template: str) -> str:
    """The regular expression of the names ``template`` gives: each
    ``{...}`` an epoch or iteration number."""
    parts = re.split(r'\{[^}]*\}', osp.normpath(template))
    return r'\d+'.join(re.escape(part) for part in parts)


def earlier_checkpoints(cfg) -> list:
    """Paths of checkpoints an earlier run left in ``cfg.work_dir``.

    Only files a Runner of this config writes count: ``last_checkpoint``
    and the names its CheckpointHook gives (``filename_tmpl`` with a number
    where ``{}`` is, ``best_*_`` before one, a ``.tmp`` after one), never
    other ``.pth`` files kept there (a teacher, notes).
    """
    work_dir = cfg.work_dir
    if not osp.isdir(work_dir):
        return []
    templates = set(DEFAULT_TEMPLATES)
    template = _checkpoint_template(cfg)
    if template:
        templates.add(template)
    names = '|'.join(_pattern(t) for t in sorted(templates))
    ours = re.compile(rf'(?:best_.+_)?(?:{names})(?:\.tmp)?')
    found = []
    for folder in {osp.dirname(osp.normpath(t)) for t in templates}:
        folder = osp.join(work_dir, folder)
        if osp.isdir(folder):
            found += [path for path in (osp.join(folder, name)
                                        for name in os.listdir(folder))
                      if ours.fullmatch(osp.relpath(path, work_dir))]
    pointer = osp.join(work_dir, 'last_checkpoint')
    # lexists: a dangling or looping link, which the CheckpointHook would
    # fail to write through after the first epoch, counts too.
    if osp.lexists(pointer) and not osp.isdir(pointer):
        found.append(pointer)
    return sorted(p for p in set(found)
                  if osp.isfile(p) or osp.islink(p))


def _names(paths: list, most: int = 6) -> str:
    names = [osp.basename(p) for p in paths]
    if len(names) > most:
        names = names[:most - 1] + [f'... ({len(paths) - most + 1} more)']
    return ', '.join(names)


def refuse_earlier_checkpoints(work_dir: str, earlier: list) -> None:
    """SystemExit: a fresh run would overwrite an earlier run's files."""
    sys.exit(f'error: the work dir {work_dir} holds the checkpoints of an '
             f'earlier run ({_names(earlier)}), which a new run would '
             'overwrite. Pass --resume to continue that run, another '
             '--work-dir to keep it, or --overwrite to delete its '
             'checkpoints and start over. Nothing was written.')


def _written_by_a_runner(path: str) -> bool:
    """Whether ``path`` holds Runner state (``meta`` and ``message_hub``),
    read from its pickle's bytes (nothing is unpickled). ``.tmp`` files
    (interrupted writes) and ``last_checkpoint`` count by their name."""
    import zipfile
    if path.endswith('.tmp') or osp.basename(path) == 'last_checkpoint':
        return True
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [info for info in archive.infolist()
                       if info.filename.endswith('/data.pkl')
                       and info.file_size < (64 << 20)]
            data = b''.join(archive.read(info) for info in pickles)
    except (OSError, zipfile.BadZipFile):
        return False
    return b'message_hub' in data and b'meta' in data


def delete_earlier_checkpoints(cfg, earlier: list) -> None:
    """``--overwrite``: delete them, unless the config reads one of them
    (``load_from``, ``model.teacher_ckpt``, ...) or one holds no Runner
    state (a file of the user's under a checkpoint's name): then
    SystemExit, nothing deleted."""
    foreign = [p for p in earlier if not _written_by_a_runner(p)]
    if foreign:
        template = _checkpoint_template(cfg) or 'epoch_{}.pth'
        sys.exit(f'error: --overwrite: {foreign[0]} has the name of this '
                 f"config's checkpoints ({template!r}) but holds no Runner "
                 'state, so no run of it wrote the file; it is not deleted, '
                 'and a new run would write over it. Move it out of the '
                 f'work dir {cfg.work_dir}, or pass another --work-dir. '
                 'Nothing was deleted.')
    doomed = {osp.realpath(p): p for p in earlier}
    used = [(key, value) for key, value in _strings(cfg.to_dict())
            if osp.realpath(value) in doomed]
    if used:
        key, value = used[0]
        sys.exit(f'error: --overwrite would delete {value}, which the '
                 f'config reads ({key}={value!r}). Copy it out of the work '
                 f'dir {cfg.work_dir} and point {key} at the copy, or pass '
                 'another --work-dir.')
    for path in earlier:
        os.remove(path)
    if earlier:
        print(f'--overwrite: deleted the checkpoints of the earlier run in '
              f'{cfg.work_dir} ({_names(earlier)}); starting over.',
              flush=True)


def _strings(node, key: str = ''):
    """(dotted key, value) of every string in a config dict."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _strings(value, f'{key}.{name}' if key else str(name))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _strings(value, f'{key}.{i}')
    elif isinstance(node, str) and node:
        yield key, node


@contextlib.contextmanager
def work_dir_lock(work_dir: str):
    """Hold ``WORK_DIR/.train.lock`` so two runs never share a work dir.

    Only the main process (rank 0) locks: the ranks of one run share it.
    """
    if os.environ.get('RANK', '0') != '0':
        yield
        return
    import fcntl
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, '.train.lock')
    try:
        # O_NOFOLLOW: a link here must not make us create or lock a file
        # elsewhere.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as err:
        kind = ('a link' if osp.islink(path) else
                'a folder' if osp.isdir(path) else 'unusable')
        sys.exit(f'error: {path} is {kind} ({err.strerror}), not the lock '
                 'file tools/train.py keeps there. Remove it (it holds no '
                 'data of a run), or pass another --work-dir.')
    with os.fdopen(fd, 'a') as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.exit(f'error: another training run is using {work_dir} (it '
                     f'holds {path}); two runs in one work dir would '
                     'interleave their checkpoints. Wait for it, or pass '
                     'another --work-dir.')
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def latest_checkpoint(work_dir: str) -> str:
    """The file ``--resume`` (no value) resumes from, or SystemExit."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.islink(pointer) and not osp.exists(pointer):
        sys.exit(f'error: --resume: {pointer} is a link that leads nowhere '
                 '(dangling, or a loop), not the file a run writes. Delete '
                 'it and pass the checkpoint with --resume FILE.')
    if not osp.isfile(pointer):
        sys.exit(f'error: --resume: nothing to resume in {work_dir} (no '
                 'last_checkpoint file there). Pass the checkpoint '
                 '(--resume FILE), the --work-dir of the run, or leave '
                 '--resume out to start from scratch.')
    with open(pointer) as f:
        target = f.read().strip()
    if not osp.isfile(target):
        sys.exit(f'error: --resume: {pointer} names {target!r}, which does '
                 'not exist. Pass an existing checkpoint with --resume FILE '
                 '(and fix or delete last_checkpoint).')
    return target


def runner_class(channels_last: bool, runner_type: str = 'Runner') -> type:
    """MMEngine's Runner with two additions: the model optionally in
    channels-last layout right after building it (before DDP wraps it,
    whose gradient buckets must see the final parameter layout), and a
    clear error for ``--resume`` from a file without Runner state."""
    import torch
    from mmengine.registry import RUNNERS
    # The config's runner_type (SafeCheckpointRunner in the project's
    # configs), as OpenMMLab's tools build it.
    Runner = RUNNERS.get(runner_type)
    if Runner is None:
        raise ValueError(f'runner_type={runner_type!r} is not a registered '
                         'Runner.')

    from projkd_mm.utils.safe_load import CheckpointError, load_checkpoint_file
    from projkd_mm.utils.state_dict import extract_state_dict
    from projkd_tools.checkpoint_diagnostics import describe_checkpoint

    class TrainRunner(Runner):

        def build_model(self, model):
            model = super().build_model(model)
            if channels_last:
                model = model.to(memory_format=torch.channels_last)
            return model

        def resume(self, filename, *args, **kwargs):
            try:
                return super().resume(filename, *args, **kwargs)
            except KeyError as err:
                if not err.args or err.args[0] not in ('meta', 'epoch',
                                                       'iter'):
                    raise
                raise CheckpointError(
                    f'--resume: {filename!r} has no {err.args[0]!r} entry, '
                    'so it is not a checkpoint a Runner wrote (a teacher or '
                    'an exported model, say). Resume from an epoch_N.pth of '
                    'the run, or start from these weights with --cfg-options '
                    f'load_from={filename} and no --resume.') from None
            except ValueError as err:
                if 'parameter group' not in str(err):
                    raise
                kind = describe_checkpoint(extract_state_dict(
                    load_checkpoint_file(filename), filename))
                raise CheckpointError(
                    f'--resume: {filename!r} is {kind}, written by a run of '
                    "another model: its optimizer state does not fit this "
                    f"config's parameters ({err}). Resume from an "
                    'epoch_N.pth of a run of this config, or start from '
                    f'its weights with --cfg-options load_from={filename} '
                    'and no --resume.') from None

    return TrainRunner
