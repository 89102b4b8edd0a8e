"""projkd_mm installs like an OpenMMLab package: the configs and the model
index travel in projkd_mm/.mim, so another project's config can name
``projkd_mm::projkd/...py`` as its base."""
import glob
import os
import os.path as osp
import subprocess
import sys
import sysconfig
import textwrap

import pytest
from conftest import REPO, tiny_run_options
from mmengine.fileio import load


def metafile_configs():
    index = load(osp.join(REPO, 'model-index.yml'))
    configs = []
    for metafile in index['Import']:
        path = osp.join(REPO, metafile)
        assert osp.isfile(path), metafile
        meta = load(path)
        readme = meta['Collections'][0]['README']
        assert osp.isfile(osp.join(REPO, readme)), readme
        for model in meta['Models']:
            assert model['Name'] == osp.splitext(
                osp.basename(model['Config']))[0]
            configs.append(model['Config'])
    return configs


def test_model_index_lists_every_config_once():
    listed = metafile_configs()
    assert len(listed) == len(set(listed))
    on_disk = sorted(
        osp.relpath(p, REPO) for p in glob.glob(
            osp.join(REPO, 'configs', 'projkd', '**', '*.py'),
            recursive=True))
    assert sorted(listed) == on_disk


def test_every_method_folder_has_a_readme_naming_its_configs():
    for folder in ('projkd', 'projkd/imagenet', 'projkd/cifar100',
                   'projkd/fashion_mnist'):
        with open(osp.join(REPO, 'configs', folder, 'README.md')) as f:
            text = f.read()
        assert 'arxiv.org/abs/2210.15274' in text
        assert '@inproceedings{chen2022improved' in text
        assert '## Results' in text


def run(cmd, cwd, env=None, timeout=600):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)
    assert proc.returncode == 0, (cmd, proc.stdout[-3000:],
                                  proc.stderr[-3000:])
    return proc


@pytest.mark.slow
def test_a_wheel_install_serves_its_configs_as_bases(tmp_path, digits_root,
                                                     teacher_ckpt):
    """Build the wheel, install it (not editable) in a fresh virtualenv,
    and train a config of another folder whose base is
    ``projkd_mm::projkd/fashion_mnist/...``. The dependencies come from
    this environment's site-packages through a path entry (the fresh
    environment has no network); projkd_mm itself only from the wheel."""
    # From a copy of the sources, so that no build/ or .mim/ of an earlier
    # build in the work tree can slip into the wheel (nor one be left there).
    import shutil
    source = tmp_path / 'source'
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        '.git', '.venv', 'build', '.mim', 'work_dirs', 'data', '*.egg-info',
        '__pycache__', '.pytest_cache', '.ruff_cache'))
    wheels = tmp_path / 'wheels'
    run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
         '--no-build-isolation', '-q', '-w', str(wheels), str(source)],
        cwd=tmp_path)
    wheel, = wheels.glob('projkd_mm-*.whl')
    import zipfile
    names = zipfile.ZipFile(wheel).namelist()
    assert 'projkd_mm/.mim/model-index.yml' in names
    assert ('projkd_mm/.mim/configs/projkd/fashion_mnist/'
            'pefd_resnet14_resnet8_10e_fmnist.py') in names
    assert 'projkd_mm/.mim/configs/_base_/projkd_runtime.py' in names

    venv = tmp_path / 'venv'
    run([sys.executable, '-m', 'venv', str(venv)], cwd=tmp_path)
    python = str(venv / 'bin' / 'python')
    run([python, '-m', 'pip', 'install', '-q', '--no-deps', '--no-index',
         str(wheel)], cwd=tmp_path)
    site = run([python, '-c', 'import sysconfig; '
                'print(sysconfig.get_paths()["purelib"])'],
               cwd=tmp_path).stdout.strip()
    deps = sysconfig.get_paths()['purelib']
    with open(osp.join(site, 'deps_of_the_test.pth'), 'w') as f:
        f.write(deps + '\n')

    other = tmp_path / 'other_project'
    other.mkdir()
    options = tiny_run_options(digits_root)
    (other / 'my_distill.py').write_text(textwrap.dedent(f'''
        _base_ = ['projkd_mm::projkd/fashion_mnist/'
                  'pefd_resnet14_resnet8_10e_fmnist.py']
        model = dict(teacher_ckpt={teacher_ckpt!r})
        work_dir = {str(tmp_path / 'work')!r}
        '''))
    script = textwrap.dedent(f'''
        import os.path as osp
        import projkd_mm
        assert projkd_mm.__file__.startswith({str(venv)!r}), projkd_mm.__file__
        from mmengine.config import Config
        from mmengine.registry import RUNNERS
        cfg = Config.fromfile('my_distill.py')
        cfg.merge_from_dict({options!r})
        runner = RUNNERS.build(cfg)  # as OpenMMLab's tools build it
        assert type(runner).__name__ == 'SafeCheckpointRunner'
        runner.train()
        assert osp.isfile(osp.join(cfg.work_dir, 'epoch_1.pth'))
        print('TRAINED', cfg.model.type)
        ''')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env['OMP_NUM_THREADS'] = '1'
    proc = run([python, '-c', script], cwd=other, env=env)
    assert 'TRAINED CheckedSingleTeacherDistill' in proc.stdout
    # Every projkd_mm-scoped dict found its registry (projkd_mm.registry).
    assert 'Failed to search registry' not in proc.stderr
