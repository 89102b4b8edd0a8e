import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
# What an installed projkd_mm carries in projkd_mm/.mim/, the way OpenMMLab
# packages do: MMEngine resolves `_base_ = ['projkd_mm::projkd/...py']` in
# <package>/.mim/configs and reads <package>/.mim/model-index.yml.
MIM_FILES = ('configs', 'model-index.yml')


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(osp.dirname(__file__), 'projkd_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def add_mim_extension() -> None:
    """Put the configs and the model index into projkd_mm/.mim: links
    for a development (editable) install, copies for a wheel or sdist."""
    if {'develop', 'editable_wheel'} & set(sys.argv):
        mode = 'symlink'
    elif {'sdist', 'bdist_wheel', 'build', 'build_py'} & set(sys.argv):
        mode = 'copy'
    else:
        return
    mim = osp.join(HERE, 'projkd_mm', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(HERE, name)
        dst = osp.join(mim, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


add_mim_extension()

setup(
    name='projkd_mm',
    version=read_version(),
    description='Feature distillation with projector ensembles '
    '(Chen et al., NeurIPS 2022) for MMRazor / mmpretrain',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['projkd_mm', 'projkd_mm.*']),
    package_data={'projkd_mm': ['.mim/model-index.yml',
                                '.mim/configs/**/*.py',
                                '.mim/configs/**/*.yml',
                                '.mim/configs/**/*.md']},
    python_requires='>=3.9',
    # Ranges that are known to work together; requirements/constraints.txt
    # pins the exact set CI tests. mmcv comes as mmcv-lite (no compiled ops,
    # nothing to build): never add `mmcv` itself, pip would build it from
    # source for half an hour.
    install_requires=[
        'torch>=2.0',
        'torchvision>=0.15',
        'mmengine>=0.10.0,<0.11',
        'mmcv-lite>=2.0.0,<=2.1.0',
        'mmpretrain>=1.0.0,<1.3',
        'mmrazor==1.0.0',
        'joblib',  # imported by mmrazor 1.0.0, not declared by it
        'setuptools>=61,<81',  # mmengine needs pkg_resources
        'numpy',
        'matplotlib',
        'scipy',  # confidence intervals of the study (tools/ablation.py)
        'torchmetrics>=1.0',  # calibration error (projkd_mm.analysis)
    ],
    extras_require={
        # pytest-xdist: make test runs the tests in one process per core.
        'tests': ['pytest>=7', 'pytest-xdist>=3', 'scikit-learn', 'ruff'],
        # tools/deploy_student.py: torch's ONNX exporter (dynamo=True) needs
        # onnx and onnxscript; the export is checked with onnxruntime.
        'deploy': ['onnx>=1.17', 'onnxscript>=0.3', 'onnxruntime>=1.20'],
    },
    license='Apache-2.0',
)
