"""tools/demo.py, the main job, end to end on tiny real data."""
import os.path as osp

import pytest

# Every test here starts a Python process or trains for real.
pytestmark = pytest.mark.slow


def test_demo_trains_all_three_and_prints_the_table(tmp_path, digits_root,
                                                    run_tool):
    work = tmp_path / 'demo'
    args = ['tools/demo.py', '--data-root', digits_root, '--work-dir',
            str(work), '--train-size', '256', '--epochs', '1']
    out = run_tool(*args, timeout=600).stdout
    for row in ('teacher ResNet-14', 'student ResNet-8 alone',
                'student ResNet-8 + ensemble (q=3)'):
        assert row in out
    assert 'Epoch(train)' in out and 'eta:' in out  # Runner progress shown
    assert osp.isfile(work / 'accuracy_curves.png')
    assert osp.isfile(work / 'student_distilled.pth')
    # A second run reuses the teacher instead of training it again.
    out = run_tool(*args, timeout=600).stdout
    assert f'[teacher] reusing {work / "teacher.pth"}' in out


def test_demo_without_data_explains_how_to_get_it(tmp_path, run_tool):
    proc = run_tool('tools/demo.py', '--data-root', str(tmp_path / 'none'),
                    check=False)
    assert proc.returncode == 2
    assert 'Fashion-MNIST not found' in proc.stderr
    assert 'apt-get install dataset-fashion-mnist' in proc.stderr
