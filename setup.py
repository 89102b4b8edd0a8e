import os.path as osp

from setuptools import find_packages, setup


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(osp.dirname(__file__), 'projkd_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='projkd_mm',
    version=read_version(),
    description='Feature distillation with projector ensembles '
    '(Chen et al., NeurIPS 2022) for MMRazor / mmpretrain',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['projkd_mm', 'projkd_mm.*']),
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
    ],
    extras_require={
        'tests': ['pytest>=7', 'scikit-learn', 'ruff'],
    },
    license='Apache-2.0',
)
