"""Finding and checking Fashion-MNIST-style idx files."""
import gzip
import os
import shutil

import pytest

from projkd_mm.datasets import DatasetFilesError, prepare_idx_dataset

NAMES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
         't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']


def gzipped_copy(src, dst):
    os.makedirs(dst)
    for name in NAMES:
        with open(os.path.join(src, name), 'rb') as f, \
                gzip.open(os.path.join(dst, name + '.gz'), 'wb') as g:
            g.write(f.read())
    return str(dst)


def test_plain_files_are_used_in_place(digits_root, tmp_path):
    assert prepare_idx_dataset([digits_root], str(tmp_path / 'x')) == \
        digits_root
    assert not (tmp_path / 'x').exists()


def test_gzipped_files_are_checked_and_unpacked(digits_root, tmp_path):
    packed = gzipped_copy(digits_root, tmp_path / 'gz')
    out = prepare_idx_dataset([str(tmp_path / 'none'), packed],
                              str(tmp_path / 'out'))
    assert out == str(tmp_path / 'out')
    for name in NAMES:
        assert open(os.path.join(out, name), 'rb').read() == open(
            os.path.join(digits_root, name), 'rb').read()


def test_missing_data_says_where_it_looked_and_how_to_get_it(tmp_path):
    (tmp_path / 'partial').mkdir()
    (tmp_path / 'partial' / NAMES[0]).write_bytes(b'')
    with pytest.raises(DatasetFilesError) as err:
        prepare_idx_dataset([str(tmp_path / 'partial'),
                             str(tmp_path / 'absent')], str(tmp_path / 'o'))
    message = str(err.value)
    assert str(tmp_path / 'partial') in message
    assert str(tmp_path / 'absent') in message
    assert 'missing train-labels-idx1-ubyte' in message
    assert 'apt-get install dataset-fashion-mnist' in message
    assert '--data-root' in message


def test_truncated_file_is_named(digits_root, tmp_path):
    broken = tmp_path / 'broken'
    shutil.copytree(digits_root, broken)
    path = broken / 't10k-images-idx3-ubyte'
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetFilesError, match='truncated') as err:
        prepare_idx_dataset([str(broken)], str(tmp_path / 'o'))
    assert str(path) in str(err.value)


def test_foreign_file_is_rejected_by_its_magic_number(digits_root, tmp_path):
    broken = tmp_path / 'broken'
    shutil.copytree(digits_root, broken)
    shutil.copy(broken / 'train-labels-idx1-ubyte',
                broken / 'train-images-idx3-ubyte')
    with pytest.raises(DatasetFilesError, match='magic number 2051'):
        prepare_idx_dataset([str(broken)], str(tmp_path / 'o'))


def test_corrupt_gzip_is_named(digits_root, tmp_path):
    packed = gzipped_copy(digits_root, tmp_path / 'gz')
    target = os.path.join(packed, 'train-labels-idx1-ubyte.gz')
    with open(target, 'wb') as f:
        f.write(b'not gzip at all')
    with pytest.raises(DatasetFilesError, match='corrupt') as err:
        prepare_idx_dataset([packed], str(tmp_path / 'o'))
    assert target in str(err.value)
