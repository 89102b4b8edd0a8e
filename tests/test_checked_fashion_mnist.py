"""The registered CheckedFashionMNIST names the file a bad dataset comes
from, at build time, through the same registry the configs use."""
import numpy as np
import pytest
from mmpretrain.registry import DATASETS

import projkd_mm  # noqa: F401  (registers the dataset)
from projkd_mm.datasets import DatasetFilesError, write_idx_dataset


def make(root, n_images=30, n_labels=30, size=28, top_label=9):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (n_images, size, size), dtype=np.uint8)
    labels = rng.integers(0, 10, n_labels).astype(np.uint8)
    labels[0] = top_label
    write_idx_dataset(str(root), images, labels, images[:10], labels[:10])
    return str(root)


def build(root, **kwargs):
    return DATASETS.build(dict(type='CheckedFashionMNIST', data_root=root,
                               split='train', download=False, pipeline=[],
                               **kwargs))


def test_good_files_load(tmp_path):
    dataset = build(make(tmp_path))
    assert len(dataset) == 30 and dataset[0]['gt_label'] == 9


def test_count_mismatch_names_both_files(tmp_path):
    with pytest.raises(DatasetFilesError,
                       match='holds 30 images but .* holds 28 labels'):
        build(make(tmp_path, n_labels=28))


def test_wrong_image_size(tmp_path):
    with pytest.raises(DatasetFilesError, match='holds 8x8 images'):
        build(make(tmp_path, size=8))


@pytest.mark.parametrize('label', [12, 255])
def test_label_out_of_range(tmp_path, label):
    with pytest.raises(DatasetFilesError, match=f'holds label {label}'):
        build(make(tmp_path, top_label=label))


def test_wrong_magic_and_truncation(tmp_path):
    root = make(tmp_path)
    path = tmp_path / 'train-images-idx3-ubyte'
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 100])
    with pytest.raises(DatasetFilesError, match='truncated'):
        build(root)
    path.write_text('not an idx file at all\n')
    with pytest.raises(DatasetFilesError, match='magic number 2051'):
        build(root)


def test_a_short_image_header_is_named(tmp_path):
    root = make(tmp_path)
    path = tmp_path / 'train-images-idx3-ubyte'
    path.write_bytes(path.read_bytes()[:12])
    with pytest.raises(DatasetFilesError, match='header is 12 bytes'):
        build(root)


@pytest.mark.parametrize('indices', [0, []])
def test_a_subset_without_images_is_refused_when_built(tmp_path, indices):
    """Not mmengine's "need at least one array to concatenate" after a
    whole epoch: an empty dataset is named when it is built."""
    with pytest.raises(ValueError, match='selects no images') as err:
        build(make(tmp_path), indices=indices)
    assert f'indices={indices!r}' in str(err.value)
