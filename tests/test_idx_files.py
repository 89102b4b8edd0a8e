"""Finding and checking Fashion-MNIST-style idx files."""
import gzip
import os
import shutil
import zlib

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


def write_idx(path, magic, count, body, dims=(28, 28), gz=False):
    """An idx file with this header and body, gzipped with ``gz``."""
    import struct
    header = struct.pack('>II', magic, count)
    if magic == 2051:
        header += struct.pack('>II', *dims)
    opener = gzip.open if gz else open
    with opener(path, 'wb') as f:
        f.write(header)
        f.write(body)
    return str(path)


def test_a_gzip_promising_more_than_it_can_hold_is_refused_unread(tmp_path):
    """A header promising 60,000 x 200 x 200 images (2.4 GB) in a gzip of a
    few KB is refused before a byte is decompressed."""
    import tracemalloc

    from projkd_mm.datasets.idx_files import check_idx_file
    path = write_idx(tmp_path / 'bomb-idx3-ubyte.gz', 2051, 60000,
                     bytes(16 << 20), dims=(200, 200), gz=True)
    tracemalloc.start()
    try:
        with pytest.raises(DatasetFilesError,
                           match='more than a gzip file of') as err:
            check_idx_file(path, 2051)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert path in str(err.value) and '2,400,000,000' in str(err.value)
    assert peak < 4 << 20, peak


def test_lengths_are_checked_by_streaming(tmp_path):
    """A gzip whose body is longer than its header says (a 32 MiB body
    behind a header of 10 images) is read in chunks, never whole."""
    import tracemalloc

    from projkd_mm.datasets.idx_files import check_idx_file
    path = write_idx(tmp_path / 'long-idx3-ubyte.gz', 2051, 10,
                     bytes(32 << 20), gz=True)
    tracemalloc.start()
    try:
        with pytest.raises(DatasetFilesError, match='more than its header'):
            check_idx_file(path, 2051)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, peak


def test_a_corrupt_deflate_stream_is_named(digits_root, tmp_path):
    packed = gzipped_copy(digits_root, tmp_path / 'gz')
    target = os.path.join(packed, 'train-images-idx3-ubyte.gz')
    data = bytearray(open(target, 'rb').read())
    data[100:120] = b'\xff' * 20  # in the deflate stream, past the header
    open(target, 'wb').write(bytes(data))
    with pytest.raises(DatasetFilesError, match='corrupt') as err:
        prepare_idx_dataset([packed], str(tmp_path / 'o'))
    assert target in str(err.value)
    assert isinstance(err.value.__cause__, zlib.error)  # not OSError


@pytest.mark.parametrize('size', [9, 12, 15])
def test_a_short_image_header_is_named(tmp_path, size):
    from projkd_mm.datasets.idx_files import check_idx_file
    path = tmp_path / 'short-idx3-ubyte'
    write_idx(path, 2051, 10, b'')
    path.write_bytes(path.read_bytes()[:size])
    with pytest.raises(DatasetFilesError,
                       match=f'header is {size} bytes, an idx file with '
                       'magic number 2051 has 16') as err:
        check_idx_file(str(path), 2051)
    assert str(path) in str(err.value)


def test_a_file_one_byte_too_long_is_not_called_truncated(tmp_path):
    from projkd_mm.datasets.idx_files import check_idx_file
    path = write_idx(tmp_path / 'x-idx1-ubyte', 2049, 10, bytes(11))
    with pytest.raises(DatasetFilesError,
                       match='1 byte more than its header promises') as err:
        check_idx_file(path, 2049)
    assert 'truncated' not in str(err.value)


def test_an_idx_file_without_items_is_refused(tmp_path):
    from projkd_mm.datasets.idx_files import check_idx_file
    path = write_idx(tmp_path / 'empty-idx3-ubyte', 2051, 0, b'')
    with pytest.raises(DatasetFilesError, match='holds no items') as err:
        check_idx_file(path, 2051)
    assert path in str(err.value)
