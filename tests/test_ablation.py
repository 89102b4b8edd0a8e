"""tools/ablation.py, end to end on tiny real data (its presets and
report: test_study.py)."""
import json
import os.path as osp
import shutil

import pytest

# Every test here starts a Python process or trains for real.
pytestmark = pytest.mark.slow


def test_ablation_writes_a_table_over_seeds(tmp_path, digits_root,
                                            run_tool):
    work = tmp_path / 'ablation'
    run_tool('tools/ablation.py', '--data-root', digits_root, '--work-dir',
             str(work), '--train-size', '128', '--epochs', '1', '--seeds',
             '0', '1', '--methods', 'student', 'ens3', timeout=900)
    results = json.load(open(work / 'results.json'))
    assert [r['seed'] for r in results['methods']['ens3']] == [0, 1]
    table = open(work / 'results.md').read()
    assert 'ensemble q=3' in table and 'student alone (CE)' in table
    assert 'python tools/ablation.py' in table
    assert osp.isfile(work / 'accuracy_curves.png')

    out = run_tool('tools/analysis/analyze_ablation.py', '--work-dir',
                   str(work), timeout=600).stdout
    similarity = open(work / 'similarity.md').read()
    assert 'CKA to teacher' in similarity and 'ensemble q=3' in similarity
    assert '| teacher ResNet-14 (reference) | 1 |' in similarity
    assert osp.isfile(work / 'similarity.png')
    assert 'ensemble q=3' in out
    # --reuse rebuilds the same table from the runs measured above; the
    # header gives the command that was run, a --results file included.
    results_file = str(work / 'results.json')
    run_tool('tools/analysis/analyze_ablation.py', '--work-dir', str(work),
             '--results', results_file, '--reuse', timeout=600)
    reused = open(work / 'similarity.md').read()
    assert f'--results {results_file}`' in reused
    assert reused.replace(f' --results {results_file}', '') == similarity
    for method in ('student', 'ens3'):
        for seed in (0, 1):
            figures = json.load(open(work / 'similarity' / method /
                                     f'seed{seed}' /
                                     'feature_similarity.json'))
            assert 0 <= figures['splits']['test']['cka'] <= 1
            assert figures['splits']['train']['num_samples'] == 128

    # Every run's figures are also in one file, which --reuse reads: with
    # the checkpoints and the per-run files gone (another machine), the
    # same table comes back from it alone.
    stored = json.load(open(work / 'similarity.json'))
    assert sorted(stored['runs']) == ['ens3', 'student']
    assert sorted(stored['runs']['ens3']) == ['0', '1']
    per_run = json.load(open(work / 'similarity' / 'ens3' / 'seed0' /
                             'feature_similarity.json'))
    assert stored['runs']['ens3']['0']['splits'] == per_run['splits']
    shutil.move(str(work / 'similarity.json'), str(tmp_path / 'kept.json'))
    shutil.rmtree(work / 'similarity')
    for checkpoint in work.glob('*/seed*/*.pth'):
        checkpoint.unlink()
    # Without the figures file a run with no checkpoint is an error that
    # names both.
    proc = run_tool('tools/analysis/analyze_ablation.py', '--work-dir',
                    str(work), '--results', results_file, '--reuse',
                    check=False)
    assert proc.returncode != 0
    assert 'epoch_1.pth does not exist' in proc.stderr
    assert 'similarity.json holds no figures of this run' in proc.stderr
    run_tool('tools/analysis/analyze_ablation.py', '--work-dir', str(work),
             '--results', results_file, '--figures',
             str(tmp_path / 'kept.json'), '--reuse', timeout=600)
    # The table and plot go beside the figures file.
    again = open(tmp_path / 'kept.md').read()
    assert osp.isfile(tmp_path / 'kept.png')
    kept = tmp_path / 'kept.json'
    assert f' --figures {kept}`' in again
    assert again.replace(f' --results {results_file}', '').replace(
        f' --figures {kept}', '') == similarity


def test_ablation_refuses_a_missing_given_teacher(tmp_path, digits_root,
                                                  run_tool):
    proc = run_tool('tools/ablation.py', '--data-root', digits_root,
                    '--work-dir', str(tmp_path / 'a'), '--train-size', '128',
                    '--teacher-ckpt', str(tmp_path / 'none.pth'),
                    check=False)
    assert proc.returncode == 2
    assert 'none.pth does not exist' in proc.stderr
    assert not osp.exists(tmp_path / 'a' / 'teacher')
