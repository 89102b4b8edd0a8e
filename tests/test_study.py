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


def test_full_preset_defaults_and_refusals(capsys):
    args = args_of('--preset', 'full')
    assert args.seeds == [10, 20, 30]
    assert args.methods == study.FULL.default_methods
    assert args.work_dir == 'work_dirs/ablation_full'
    for extra in (['--epochs', '3'], ['--train-size', '100'], ['--full']):
        with pytest.raises(SystemExit):
            args_of('--preset', 'full', *extra)
        assert 'only for --preset quick' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        args_of('--preset', 'quick', '--methods', 'kd1proj')
    assert 'not in the quick preset' in capsys.readouterr().err


def test_full_preset_trains_on_all_images_or_the_non_held_out_ones():
    options = study.run_options(args_of('--preset', 'full'), '/data', 10)
    assert 'train_dataloader.dataset.indices' not in options
    assert 'train_cfg.max_epochs' not in options  # the configs' schedule
    assert options['randomness.seed'] == 10
    assert study.train_size(args_of('--preset', 'full')) == 60000
    held = study.run_options(args_of('--preset', 'full', '--holdout'),
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
    args = args_of('--preset', 'full', '--seeds', '10', '--holdout',
                   '--teacher-ckpt', 't.pth', '--methods', 'ens3',
                   '--cfg-options', 'train_cfg.max_epochs=15',
                   'param_scheduler.milestones=[9,12]')
    assert study.regenerate_command(args) == (
        'python tools/ablation.py --preset full --work-dir '
        'work_dirs/ablation_full --seeds 10 --teacher-ckpt t.pth --holdout '
        "--cfg-options train_cfg.max_epochs=15 "
        "'param_scheduler.milestones=[9,12]'")
    # Which methods ran is not a setting: the table holds them all.
    assert 'ens3' not in study.regenerate_command(args)


def test_every_method_config_exists_and_differs():
    for preset in study.PRESETS.values():
        configs = [c for c, _ in preset.methods.values()]
        assert len(set(configs)) == len(configs)
        for config in configs + [preset.teacher]:
            assert osp.isfile(osp.join(study.CONFIGS, config)), config
        for _, method, baseline, _ in preset.claims:
            assert {method, baseline} <= set(preset.methods)


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
    # Only the seeds both methods ran are paired; one pair is no interval.
    results['methods']['c'] = runs([91.0])
    assert study.paired(results, 'a', 'c') is None
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
    text, goal = study.goal_check(results, study.FULL)
    assert goal['best'] == 'ens3' and goal['top1'] == pytest.approx(92.0)
    # ens3 - noproj = 1.0, 0.5, 0.6: mean 0.7 > 2 std (0.55)
    assert goal['met'] and '**met**' in text
    results['methods']['noproj'] = runs([91.0, 92.0, 91.3])
    _, goal = study.goal_check(results, study.FULL)
    assert not goal['met']  # 0.7 mean, but 2 std = 1.25


def test_full_preset_end_to_end_writes_claims(tmp_path, digits_root,
                                              run_tool):
    work = tmp_path / 'full'
    out = run_tool('tools/ablation.py', '--preset', 'full', '--data-root',
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
    assert 'python tools/ablation.py --preset full' in table
    assert teacher['sha256'] in table
    assert '53,090 + 12,480' in table

    # --holdout with the teacher above: the split goes on tools/train.py's
    # command line as two ints (of the digits' 1,500 training images, the
    # first 1,250 and the last 250), and the report names the split.
    held = tmp_path / 'held'
    run_tool('tools/ablation.py', '--preset', 'full', '--data-root',
             digits_root, '--work-dir', str(held), '--seeds', '10',
             '--methods', 'ens1', '--holdout', '--teacher-ckpt',
             str(work / 'teacher.pth'), '--cfg-options',
             'train_cfg.max_epochs=1', timeout=900)
    table = open(held / 'results.md').read()
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
