"""tools/ablation.py, end to end on tiny real data (its presets and
report: test_study.py)."""
import json
import os.path as osp

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


def test_ablation_refuses_a_missing_given_teacher(tmp_path, digits_root,
                                                  run_tool):
    proc = run_tool('tools/ablation.py', '--data-root', digits_root,
                    '--work-dir', str(tmp_path / 'a'), '--train-size', '128',
                    '--teacher-ckpt', str(tmp_path / 'none.pth'),
                    check=False)
    assert proc.returncode == 2
    assert 'none.pth does not exist' in proc.stderr
    assert not osp.exists(tmp_path / 'a' / 'teacher')
