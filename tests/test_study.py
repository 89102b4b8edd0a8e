"""The study tool's presets, paired comparisons and report."""
import json
import os
import os.path as osp
import statistics

import ablation  # tools/ablation.py (tools/ is on sys.path: conftest)
import pytest
from mmengine.dataset import BaseDataset
from scipy import stats

from projkd_tools import study


def args_of(*argv):
    return ablation.parse_args(list(argv))


def test_short_preset_defaults_and_refusals(capsys):
    args = args_of('--preset', 'short')
    assert args.seeds == [10, 20, 30]
    assert args.methods == study.SHORT.default_methods
    assert args.work_dir == 'work_dirs/ablation_short'
    for extra in (['--epochs', '3'], ['--train-size', '100'], ['--full']):
        with pytest.raises(SystemExit):
            args_of('--preset', 'short', *extra)
        assert 'only for --preset quick' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        args_of('--preset', 'quick', '--methods', 'kd1proj')
    assert 'not in the quick preset' in capsys.readouterr().err


def test_short_preset_trains_on_all_images_or_the_non_held_out_ones():
    options = study.run_options(args_of('--preset', 'short'), '/data', 10)
    assert 'train_dataloader.dataset.indices' not in options
    assert 'train_cfg.max_epochs' not in options  # the configs' schedule
    assert options['randomness.seed'] == 10
    assert study.train_size(args_of('--preset', 'short')) == 60000
    held = study.run_options(args_of('--preset', 'short', '--holdout'),
                             '/data', 10)
    assert held['train_dataloader.dataset.indices'] == 50000
    assert held['val_dataloader.dataset.indices'] == -10000
    assert held['val_dataloader.dataset.test_mode'] is False
    # mmengine reads them as the first 50,000 and the last 10,000 images.
    class Images(BaseDataset):
        def load_data_list(self):
            return [dict(image=i) for i in range(60000)]

    def images(indices):
        dataset = Images(indices=indices, serialize_data=False)
        return [dataset.get_data_info(i)['image']
                for i in range(len(dataset))]

    assert images(50000) == list(range(50000))
    assert images(-10000) == list(range(50000, 60000))


def test_regenerate_command_repeats_every_setting():
    args = args_of('--preset', 'short', '--seeds', '10', '--holdout',
                   '--teacher-ckpt', 't.pth', '--methods', 'ens3',
                   '--cfg-options', 'train_cfg.max_epochs=15',
                   'param_scheduler.milestones=[9,12]')
    assert study.regenerate_command(args) == (
        'python tools/ablation.py --preset short --work-dir '
        'work_dirs/ablation_short --seeds 10 --teacher-ckpt t.pth --holdout '
        "--cfg-options train_cfg.max_epochs=15 "
        "'param_scheduler.milestones=[9,12]'")
    # Which methods ran is not a setting: the table holds them all.
    assert 'ens3' not in study.regenerate_command(args)


def test_a_few_seeds_of_the_full_study_belong_to_its_whole_table():
    # A session runs seed 10 only: the command and the seeds column still
    # speak of the study's five seeds.
    args = args_of('--preset', 'full', '--seeds', '10')
    assert '--seeds 10 20 30 40 50' in study.regenerate_command(args)
    runs = [dict(seed=10, final=90.0, best=90.5, seconds=60.0)]
    rows = study.table(dict(methods={'ens3': runs}, params={}, teacher=None),
                       args, study.FULL).splitlines()
    assert rows[2].split(' | ')[1] == '1 of 5'


def test_a_claim_with_one_seed_gives_its_difference_without_an_interval():
    results = dict(methods={
        'ens1': [dict(seed=10, final=92.91)],
        'noproj': [dict(seed=10, final=92.04)]}, params={})
    diff = study.paired(results, 'ens1', 'noproj')
    assert diff['seeds'] == [10] and diff['low'] is None
    assert diff['mean'] == pytest.approx(0.87)
    assert study.verdict(diff, 'greater') == 'one seed: no interval yet'
    table, _ = study.claims_table(results, study.FULL)
    assert '| ens1 - noproj | +0.87 (1 seed) | one seed: no interval yet |' \
        in table


def test_every_method_config_exists_and_differs():
    for preset in study.PRESETS.values():
        rows = [(m.config, tuple(sorted(m.options.items())))
                for m in preset.methods.values()]
        assert len(set(rows)) == len(rows)
        configs = [m.config for m in preset.methods.values()]
        for config in configs + [preset.teacher]:
            assert osp.isfile(osp.join(study.CONFIGS, config)), config
        for _, method, baseline, _ in preset.claims:
            assert {method, baseline} <= set(preset.methods)


def _row_model(preset, name):
    """The model a study row trains: its config with its cfg-options."""
    from mmengine.config import Config
    method = preset.methods[name]
    cfg = Config.fromfile(osp.join(study.CONFIGS, method.config))
    cfg.merge_from_dict(method.options)
    return cfg.model


def test_knob_rows_are_their_config_with_one_knob_turned():
    # The teacher's precision: every config runs it 'auto' (channels_last);
    # the exact control and the bf16 row force it.
    for preset in (study.QUICK, study.SHORT):
        for name, mode in (('ens3', ('auto', 'channels_last')),
                           ('ens3_fp32teacher', ('fp32', 'contiguous')),
                           ('ens3_bf16teacher', ('bf16', 'channels_last'))):
            model = _row_model(preset, name)
            assert (model.teacher_dtype,
                    model.teacher_memory_format) == mode, name
    # q, the size of the ensemble.
    for preset, q in ((study.QUICK, 2), (study.QUICK, 4), (study.SHORT, 2),
                      (study.SHORT, 4), (study.SHORT, 8), (study.FULL, 8)):
        connectors = _row_model(preset, f'ens{q}').distiller.connectors
        assert connectors.projector.num_projectors == q
        assert preset.methods[f'ens{q}'].config == \
            preset.methods['ens3'].config


def runs(finals):
    return [dict(seed=s, final=f) for s, f in zip((10, 20, 30), finals)]


def test_paired_difference_is_a_t_interval_over_seeds():
    results = {'methods': {'a': runs([91.0, 91.5, 90.8]),
                           'b': runs([90.0, 90.9, 90.1])}}
    diff = study.paired(results, 'a', 'b')
    d = [1.0, 0.6, 0.7]
    half = stats.t.ppf(0.975, 2) * statistics.stdev(d) / 3 ** 0.5
    assert diff['seeds'] == [10, 20, 30]
    assert diff['mean'] == pytest.approx(statistics.mean(d))
    assert diff['low'] == pytest.approx(statistics.mean(d) - half)
    assert diff['high'] == pytest.approx(statistics.mean(d) + half)
    assert study.verdict(diff, 'greater') == 'held'
    assert study.verdict(diff, 'differ') == 'differ (+)'
    flipped = study.paired(results, 'b', 'a')
    assert study.verdict(flipped, 'greater') == 'not held'
    # Only the seeds both methods ran are paired; one pair is a difference
    # without an interval, none is nothing.
    results['methods']['c'] = runs([91.0])
    one = study.paired(results, 'a', 'c')
    assert one['seeds'] == [10] and one['low'] is None
    assert study.paired(results, 'a', 'missing') is None
    assert study.verdict(None, 'greater') == 'not run'


def test_verdicts_at_the_edges():
    wide = dict(mean=0.1, low=-0.5, high=0.7)
    assert study.verdict(wide, 'greater') == 'inconclusive'
    assert study.verdict(wide, 'differ') == 'no difference shown'
    assert study.verdict(wide, 'equal') == 'inconclusive'
    tight = dict(mean=0.0, low=-0.1, high=0.2)
    assert study.verdict(tight, 'equal') == 'held'
    apart = dict(mean=0.8, low=0.5, high=1.1)
    assert study.verdict(apart, 'equal') == 'not held'


def test_goal_needs_the_level_and_two_std_over_each_baseline():
    results = {
        'params': {n: {'student': 53090} for n in
                   ('ens3', 'student', 'kd', 'noproj')},
        'methods': {'ens3': runs([92.0, 92.1, 91.9]),
                    'student': runs([90.0, 90.1, 89.9]),
                    'kd': runs([90.5, 90.6, 90.4]),
                    'noproj': runs([91.0, 91.6, 91.3])}}
    text, goal = study.goal_check(results, study.SHORT)
    assert goal['best'] == 'ens3' and goal['top1'] == pytest.approx(92.0)
    # ens3 - noproj = 1.0, 0.5, 0.6: mean 0.7 > 2 std (0.55)
    assert goal['met'] and '**met**' in text
    results['methods']['noproj'] = runs([91.0, 92.0, 91.3])
    _, goal = study.goal_check(results, study.SHORT)
    assert not goal['met']  # 0.7 mean, but 2 std = 1.25


@pytest.mark.slow
def test_short_preset_end_to_end_writes_claims(tmp_path, digits_root,
                                               run_tool):
    work = tmp_path / 'short'
    out = run_tool('tools/ablation.py', '--preset', 'short', '--data-root',
                   digits_root, '--work-dir', str(work), '--seeds', '10',
                   '20', '--methods', 'ens1', 'ens3', '--cfg-options',
                   'train_cfg.max_epochs=1', timeout=900).stdout
    assert '[teacher]' in out
    results = json.load(open(work / 'results.json'))
    teacher = json.load(open(work / 'teacher.json'))
    assert len(teacher['sha256']) == 64
    assert results['params']['ens3'] == dict(student=53090, extra=12480,
                                             teacher=488554)
    claim = {c['claim']: c for c in results['claims']}
    q3 = claim['ensemble (q=3) >= one projector']
    assert q3['difference']['seeds'] == [10, 20]
    assert q3['verdict'] in ('held', 'not held', 'inconclusive')
    assert claim['PEFD (q=3) > logit KD']['verdict'] == 'not run'
    table = open(work / 'results.md').read()
    assert 'python tools/ablation.py --preset short' in table
    assert teacher['sha256'] in table
    assert '53,090 + 12,480' in table

    # --holdout with the teacher above: the split goes on tools/train.py's
    # command line as two ints (of the digits' 1,500 training images, the
    # first 1,250 and the last 250), and the report names the split.
    # A given teacher is used as it is: never retrained nor overwritten, and
    # its figures come from the distillation run that evaluated it.
    held = tmp_path / 'held'
    given = work / 'teacher.pth'
    before = given.read_bytes()
    out = run_tool('tools/ablation.py', '--preset', 'short', '--data-root',
                   digits_root, '--work-dir', str(held), '--seeds', '10',
                   '--methods', 'ens1', '--holdout', '--teacher-ckpt',
                   str(given), '--cfg-options', 'train_cfg.max_epochs=1',
                   timeout=900).stdout
    assert f'[teacher] using {given}' in out
    assert given.read_bytes() == before
    assert not osp.exists(held / 'teacher')
    results = json.load(open(held / 'results.json'))
    assert (results['teacher']['final'] ==
            results['methods']['ens1'][0]['teacher_curve'][-1])
    table = open(held / 'results.md').read()
    assert 'given checkpoint' in table
    assert 'final top-1 (held-out validation)' in table
    assert 'Paired comparisons of final-epoch held-out validation' in table
    assert 'not the test set the goal is defined on' in table
    assert ' --holdout' in table
    config = open(next(held.glob('ens1/seed10/*.py'))).read()
    assert 'indices=1250' in config and 'indices=-250' in config


def _indices(indices, images):
    """The image numbers mmengine's ``indices`` selects of ``images``."""
    class Images(BaseDataset):
        def load_data_list(self):
            return [dict(image=i) for i in range(images)]

    dataset = Images(indices=indices, serialize_data=False)
    return {dataset.get_data_info(i)['image'] for i in range(len(dataset))}


@pytest.mark.parametrize('argv, images', [
    (['--holdout'], 60000),
    (['--holdout', '--train-size', '50000'], 60000),
    (['--holdout', '--full'], 60000),
    (['--preset', 'short', '--holdout'], 60000),
    (['--preset', 'full', '--holdout'], 60000),
    (['--holdout', '--train-size', '1000'], 1500),  # the tests' digits
    (['--preset', 'full', '--holdout'], 1500),
])
def test_holdout_never_trains_on_a_held_out_image(argv, images):
    args = args_of(*argv)
    options = study.run_options(args, '/data', 0, images=images)
    train = _indices(options['train_dataloader.dataset.indices'], images)
    held = _indices(options['val_dataloader.dataset.indices'], images)
    assert not train & held
    assert held == set(range(images - images // 6, images))
    assert len(train) == study.train_size(args, images)


@pytest.mark.parametrize('argv, message', [
    (['--holdout', '--train-size', '60000'], '--train-size 60000: with '
     '--holdout at most 50000'),
    (['--train-size', '60001'], '--train-size 60001: at most 60000'),
    (['--train-size', '-5'], '--train-size -5: must be at least 1'),
    (['--train-size', '0'], '--train-size 0: must be at least 1'),
    (['--epochs', '0'], '--epochs 0: must be at least 1'),
    (['--seeds', '1', '-2'], '--seeds -2: a seed is an int from 0 to '
     '4294967295'),
])
def test_sizes_and_seeds_are_checked_against_the_pool(capsys, argv,
                                                      message):
    with pytest.raises(SystemExit):
        args_of(*argv)
    assert message in capsys.readouterr().err


def test_a_train_size_past_the_datas_pool_is_refused(tmp_path, digits_root,
                                                      capsys):
    args = args_of('--data-root', digits_root, '--work-dir',
                   str(tmp_path), '--holdout', '--train-size', '1400')
    assert study.run_study(args) == 2
    assert ('--train-size 1400: the training pool of ' + digits_root +
            ' is 1250 images with --holdout (its last 250 of 1500 are '
            'held out)') in capsys.readouterr().err
    assert not (tmp_path / 'results.json').exists()


def earlier_study(work, **settings):
    """A results.json of a quick study at 1 epoch, as run_study writes it."""
    args = vars(args_of('--work-dir', str(work), '--epochs', '1'))
    args.update(settings)
    run = dict(seed=0, final=50.0, best=51.0, seconds=1.0, curve=[50.0],
               teacher_curve=[], checkpoint='x.pth')
    results = dict(command='python tools/ablation.py', settings=args,
                   methods=dict(student=[run]), params={})
    work.mkdir(exist_ok=True)
    (work / 'results.json').write_text(json.dumps(results, indent=1))
    return (work / 'results.json').read_bytes()


def test_results_of_other_settings_are_never_dropped(tmp_path, digits_root,
                                                     teacher_ckpt, capsys):
    before = earlier_study(tmp_path)
    args = args_of('--data-root', digits_root, '--work-dir', str(tmp_path),
                   '--epochs', '2', '--train-size', '64', '--methods',
                   'student', '--seeds', '0', '--teacher-ckpt', teacher_ckpt)
    assert study.run_study(args) == 2
    err = capsys.readouterr().err
    assert 'holds the runs of other settings: train_size 10000 (now 64), ' \
        'epochs 1 (now 2).' in err
    assert 'another --work-dir' in err and '--archive-results' in err
    assert (tmp_path / 'results.json').read_bytes() == before


@pytest.mark.parametrize('damage', ['truncated', 'partial'])
def test_an_unreadable_results_file_is_named_and_kept(tmp_path, digits_root,
                                                       capsys, damage):
    before = earlier_study(tmp_path)
    data = (before[:len(before) // 2] if damage == 'truncated' else
            json.dumps({'command': 'x'}).encode())
    (tmp_path / 'results.json').write_bytes(data)
    args = args_of('--data-root', digits_root, '--work-dir', str(tmp_path),
                   '--epochs', '1', '--train-size', '64', '--report-only')
    assert study.run_study(args) == 2
    err = capsys.readouterr().err
    assert f'{tmp_path / "results.json"} cannot be read as a study' in err
    assert '--archive-results' in err
    assert (tmp_path / 'results.json').read_bytes() == data


def test_archive_results_sets_the_earlier_study_aside(tmp_path):
    before = earlier_study(tmp_path)
    (tmp_path / 'teacher.json').write_text('{}')
    (tmp_path / 'teacher.pth').write_bytes(b'weights')
    folder = study.archive_study(str(tmp_path))
    assert osp.dirname(folder) == str(tmp_path / 'archive')
    assert open(osp.join(folder, 'results.json'), 'rb').read() == before
    assert sorted(os.listdir(folder)) == ['results.json', 'teacher.json',
                                          'teacher.pth']
    assert not (tmp_path / 'results.json').exists()


# --- the converged study (--preset full) ----------------------------------

def test_full_preset_seeds_schedule_and_results_file(capsys):
    args = args_of('--preset', 'full')
    assert args.seeds == [10, 20, 30, 40, 50]
    assert args.epochs == study.FULL_EPOCHS
    assert args.work_dir == 'work_dirs/ablation_full'
    # Five seeds for the claims' rows, three for the others.
    assert study.FULL.seeds_of('ens3', args.seeds) == [10, 20, 30, 40, 50]
    for name in ('ens3_kd', 'ens8', 'srd'):
        assert study.FULL.seeds_of(name, args.seeds) == [10, 20, 30]
    # One cosine schedule for every row, whatever the config says.
    options = study.run_options(args, '/data', 10)
    assert options['train_cfg.max_epochs'] == study.FULL_EPOCHS
    assert options['param_scheduler._delete_'] is True
    assert options['param_scheduler.type'] == 'CosineAnnealingLR'
    assert options['param_scheduler.T_max'] == study.FULL_EPOCHS
    # The table's results live in the repository; a schedule search on the
    # held-out split writes to its work dir.
    assert study.results_path(args, '/w') == osp.join(
        study.REPO, 'docs', 'results', 'study_fashion_mnist.json')
    search = args_of('--preset', 'full', '--holdout', '--epochs', '60')
    assert study.results_path(search, '/w') == '/w/results.json'
    assert '--epochs 60' in study.regenerate_command(search)
    with pytest.raises(SystemExit):
        args_of('--preset', 'full', '--train-size', '100')
    assert 'only for --preset quick' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        args_of('--preset', 'short', '--no-teacher-cache')
    assert '--no-teacher-cache: only for --preset full' in \
        capsys.readouterr().err
    with pytest.raises(SystemExit):
        args_of('--preset', 'full', '--jobs', '0')
    assert '--jobs 0: must be at least 1' in capsys.readouterr().err


def test_another_teacher_than_the_committed_one_is_refused(tmp_path):
    import dataclasses
    other = tmp_path / 'other.pth'
    other.write_bytes(b'another teacher')
    preset = dataclasses.replace(study.FULL, teacher_sha256='0' * 64)
    args = args_of('--preset', 'full', '--teacher-ckpt', str(other))
    refusal = study.check_teacher(args, preset)
    assert f'has SHA-256 {study.sha256(str(other))}, not the full ' \
        "preset's teacher" in refusal
    assert '--allow-other-teacher' in refusal
    args = args_of('--preset', 'full', '--teacher-ckpt', str(other),
                   '--allow-other-teacher')
    assert study.check_teacher(args, preset) == ''


def s2_teacher_checkpoint(path: str) -> str:
    """The full study's teacher architecture, seeded weights."""
    import torch
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(osp.join(study.CONFIGS, study.FULL.teacher))
    torch.manual_seed(0)
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, path)
    return path


@pytest.mark.slow
def test_full_preset_end_to_end_with_cache_jobs_and_results_file(
        tmp_path, digits_root, run_tool):
    teacher = s2_teacher_checkpoint(str(tmp_path / 'teacher.pth'))
    work, results_file = tmp_path / 'work', tmp_path / 'study.json'
    out = run_tool('tools/ablation.py', '--preset', 'full', '--data-root',
                   digits_root, '--work-dir', str(work), '--results',
                   str(results_file), '--teacher-ckpt', teacher,
                   '--allow-other-teacher', '--epochs', '2', '--seeds', '10',
                   '--methods', 'student', 'ens3', '--jobs', '2',
                   timeout=900).stdout
    assert '[cache] building' in out
    assert (work / 'teacher_cache' / 'header.json').is_file()
    results = json.load(open(results_file))
    for name in ('student', 'ens3'):
        (run, ) = results['methods'][name]
        assert run['host']['jobs'] == 2 and run['host']['threads'] >= 1
        assert run['host']['torch'] and run['host']['cpu']
        assert isinstance(run['host']['avx512_bf16'], bool)
        assert run['seconds'] > 0
    # The distillation run read the cache; the student alone has no
    # teacher to cache.
    config = open(next(work.glob('ens3/seed10/*.py'))).read()
    assert f"'{work / 'teacher_cache'}'" in config
    assert 'teacher_cache=' in config
    assert results['teacher']['sha256'] == study.sha256(teacher)
    report = (tmp_path / 'study.md').read_text()
    assert 'a cosine schedule of 2 epochs' in report
    # A run keeps its last checkpoint only (resume needs no other).
    assert sorted(p.name for p in work.glob('ens3/seed10/*.pth')) == \
        ['epoch_2.pth']
    assert '2 runs' in report and 'h of training in all' in report
    assert (tmp_path / 'study.png').is_file()
    # A second call resumes from the results file: nothing is retrained.
    out = run_tool('tools/ablation.py', '--preset', 'full', '--data-root',
                   digits_root, '--work-dir', str(work), '--results',
                   str(results_file), '--teacher-ckpt', teacher,
                   '--allow-other-teacher', '--epochs', '2', '--seeds', '10',
                   '--methods', 'student', 'ens3', timeout=900).stdout
    assert '[ens3 seed 10] done earlier, kept' in out
    assert '[cache] using' in out


@pytest.mark.slow
def test_full_preset_student_alone_needs_no_teacher_nor_cache(tmp_path,
                                                              digits_root,
                                                              run_tool):
    # The schedule search: the student alone on the held-out split, whether
    # or not the committed teacher is in the checkout.
    args = args_of('--preset', 'full', '--data-root', digits_root,
                   '--work-dir', str(tmp_path), '--holdout', '--epochs', '1',
                   '--methods', 'student', '--seeds', '10', '--threads', '1')
    assert study.run_study(args) == 0
    assert not (tmp_path / 'teacher_cache').exists()
    results = json.load(open(tmp_path / 'results.json'))
    (run, ) = results['methods']['student']
    assert run['host']['threads'] == 1 and len(run['curve']) == 1
    assert 'a cosine schedule of 1 epochs' in \
        (tmp_path / 'results.md').read_text()
    # Its analysis compares with the preset's committed teacher: the study
    # wrote no teacher.pth of its own.
    assert not (tmp_path / 'teacher.pth').exists()
    run_tool('tools/analysis/analyze_ablation.py', '--work-dir',
             str(tmp_path), timeout=600)
    similarity = (tmp_path / 'similarity.md').read_text()
    assert '| student alone (CE) | ' in similarity
    assert '| teacher ResNet-20, stride-2 stem (committed checkpoint) | 1 |' \
        in similarity


def test_full_preset_runs_one_run_per_core_by_default():
    # Measured (benchmarks/study_jobs.py): two one-thread runs at once beat
    # one two-thread run after another on 2 cores.
    assert args_of('--preset', 'full').jobs == (os.cpu_count() or 1)
    assert args_of('--preset', 'short').jobs == 1
    assert args_of('--preset', 'full', '--jobs', '1').jobs == 1


def test_the_readme_section_is_replaced_between_its_lines_only(tmp_path):
    readme = tmp_path / 'README.md'
    readme.write_text(f'# top\n{study.README_BEGIN}\nold table\n'
                      f'{study.README_END}\nrest\n')
    assert study.write_readme_section(str(readme), '| new | table |\n')
    assert readme.read_text() == (f'# top\n{study.README_BEGIN}\n'
                                  f'| new | table |\n{study.README_END}\n'
                                  'rest\n')
    # Without both lines (or with the first twice) nothing is written.
    for broken in (f'# top\n{study.README_END}\n{study.README_BEGIN}\n',
                   f'{study.README_BEGIN}\n{study.README_BEGIN}\n'
                   f'{study.README_END}\n', '# no markers\n'):
        readme.write_text(broken)
        assert not study.write_readme_section(str(readme), 'x')
        assert readme.read_text() == broken


def test_the_repository_readme_has_the_study_table_lines():
    with open(osp.join(study.REPO, 'README.md')) as f:
        readme = f.read()
    assert readme.count(study.README_BEGIN) == 1
    assert readme.index(study.README_BEGIN) < readme.index(study.README_END)


def test_a_row_still_running_says_how_many_of_its_seeds_it_has():
    args = args_of('--preset', 'full')
    runs = [dict(seed=s, final=90.0 + s / 100, best=90.5, seconds=60.0)
            for s in (10, 20)]
    results = dict(methods={'ens3': runs, 'srd': runs}, params={},
                   teacher=None)
    rows = study.table(results, args, study.FULL).splitlines()
    assert rows[0].startswith('| method | seeds | final top-1 (test)')
    # ens3 runs on five seeds, SRD on three.
    assert rows[2].startswith('| PEFD, ensemble q=3 | 2 of 5 | 90.15 +- ')
    assert rows[3].split(' | ')[1] == '2 of 3'
    done = dict(methods={'srd': runs + [dict(runs[0], seed=30)]},
                params={}, teacher=None)
    assert study.table(done, args, study.FULL).splitlines()[2].split(
        ' | ')[1] == '3'


def test_the_time_per_run_is_the_median_of_the_runs():
    # One run of three slowed down by another job: the row still says what
    # a run costs.
    runs = [dict(seed=s, final=90.0, best=90.5, seconds=secs)
            for s, secs in ((10, 2400.0), (20, 2280.0), (30, 3600.0))]
    rows = study.table(dict(methods={'srd': runs}, params={}, teacher=None),
                       args_of('--preset', 'full'), study.FULL).splitlines()
    assert rows[0].endswith('| time / run (median) |')
    assert rows[2].endswith('| 40.0 min |')
