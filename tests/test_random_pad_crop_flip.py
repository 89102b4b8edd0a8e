"""RandomPadCropFlip gives the images, meta keys and random draws of
mmpretrain's RandomCrop(padding) + RandomFlip, so configs can swap them."""
import numpy as np
import pytest
from mmengine.dataset import Compose
from mmpretrain.registry import TRANSFORMS

import projkd_mm  # noqa: F401  (registers the transform)


def pipeline(*transforms):
    return Compose([TRANSFORMS.build(t) for t in transforms])


def mmpretrain_pair(crop_size, padding, prob):
    return pipeline(
        dict(type='RandomCrop', crop_size=crop_size, padding=padding),
        dict(type='RandomFlip', prob=prob, direction='horizontal'))


@pytest.mark.parametrize('shape, crop_size, padding, prob', [
    ((28, 28), 28, 2, 0.5),            # the Fashion-MNIST configs
    ((32, 32, 3), 32, 4, 0.5),         # the CIFAR-100 configs
    ((5, 7), (6, 4), (1, 2, 3, 0), 0.3),  # (left, top, right, bottom)
    ((5, 7, 2), 6, (2, 1), 0.5),       # (left/right, top/bottom)
    ((6, 6), 10, 1, 0.5),              # crop larger than the padded image
    ((4, 4), 4, 0, 0.5),               # nothing to crop: no offset drawn
    ((9, 9), 5, 0, 1.0),
    ((9, 9), 5, 3, 0.0),
])
def test_same_images_and_draws_as_mmpretrain(shape, crop_size, padding,
                                             prob):
    reference = mmpretrain_pair(crop_size, padding, prob)
    fused = pipeline(dict(type='RandomPadCropFlip', crop_size=crop_size,
                          padding=padding, flip_prob=prob))
    images = np.random.RandomState(0).randint(0, 256, (200, ) + shape)
    flips = 0
    for seed, img in enumerate(images.astype(np.uint8)):
        np.random.seed(seed)
        want = reference(dict(img=img.copy()))
        after_reference = np.random.random_sample()
        np.random.seed(seed)
        got = fused(dict(img=img.copy()))
        assert np.random.random_sample() == after_reference
        assert got['img'].shape == want['img'].shape
        assert got['img'].dtype == want['img'].dtype
        np.testing.assert_array_equal(got['img'], want['img'])
        assert tuple(got['img_shape']) == tuple(want['img_shape'])
        assert got['flip'] == want['flip']
        assert got['flip_direction'] == want['flip_direction']
        flips += got['flip']
    assert flips == {1.0: 200, 0.0: 0}.get(prob, flips)
    if prob == 0.5:
        assert 60 < flips < 140


def test_pad_val_fills_the_border():
    transform = TRANSFORMS.build(dict(type='RandomPadCropFlip', crop_size=6,
                                      padding=3, pad_val=7, flip_prob=0.0))
    np.random.seed(0)
    out = transform(dict(img=np.zeros((2, 2), np.uint8)))['img']
    assert out.shape == (6, 6)
    # 4 source pixels at most; every other pixel is padding.
    assert (out == 7).sum() >= 32 and set(np.unique(out)) <= {0, 7}


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(crop_size=0), ValueError, 'crop_size must be positive'),
    (dict(crop_size=2.5), TypeError, 'crop_size must be an int'),
    (dict(crop_size=4, padding=(1, 2, 3)), TypeError, 'padding must be'),
    (dict(crop_size=4, padding=-1), ValueError, 'must not be negative'),
    (dict(crop_size=4, flip_prob=1.5), ValueError, r'flip_prob .* \[0, 1\]'),
    (dict(crop_size=True), TypeError, 'crop_size must be an int or two '
     'ints, got True'),
    (dict(crop_size=(28, False)), TypeError, 'crop_size must be an int'),
    (dict(crop_size=4, padding=True), TypeError, 'padding must be'),
    (dict(crop_size=4, flip_prob=True), ValueError, 'flip_prob must be a '
     'number'),
    (dict(crop_size=4, pad_val='black'), TypeError, "pad_val must be a "
     "number or one number per channel, got 'black'"),
    (dict(crop_size=4, pad_val=None), TypeError, 'pad_val must be a number'),
    (dict(crop_size=4, pad_val=float('nan')), ValueError, 'pad_val must be '
     'finite'),
])
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        TRANSFORMS.build(dict(type='RandomPadCropFlip', **kwargs))


@pytest.mark.parametrize('pad_val', [300, -5, (300, 0, 7)])
def test_an_out_of_range_pad_val_is_clipped_as_random_crop_clips_it(
        pad_val):
    """pad_val=300 on uint8 images raised numpy's OverflowError at the first
    image; mmpretrain's RandomCrop (cv2) saturates it to 255."""
    shape = (4, 4, 3) if isinstance(pad_val, tuple) else (4, 4)
    img = np.random.RandomState(0).randint(0, 256, shape).astype(np.uint8)
    reference = pipeline(dict(type='RandomCrop', crop_size=6, padding=2,
                              pad_val=pad_val))
    fused = pipeline(dict(type='RandomPadCropFlip', crop_size=6, padding=2,
                          pad_val=pad_val, flip_prob=0.0))
    np.random.seed(0)
    want = reference(dict(img=img.copy()))['img']
    np.random.seed(0)
    got = fused(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(got, want)


def test_a_one_dimensional_image_is_named():
    transform = TRANSFORMS.build(dict(type='RandomPadCropFlip',
                                      crop_size=4))
    with pytest.raises(ValueError, match=r'takes \(height, width\) or '
                       r'\(height, width, channels\) images, got an image of '
                       r'shape \(784,\)'):
        transform(dict(img=np.zeros(784, np.uint8)))


def test_per_channel_pad_vals_must_match_the_channels():
    transform = TRANSFORMS.build(dict(type='RandomPadCropFlip', crop_size=6,
                                      padding=1, pad_val=(1, 2, 3)))
    with pytest.raises(ValueError, match=r'pad_val=\(1, 2, 3\) gives 3 '
                       r'values, the image \(4, 4\) has 1 channel'):
        transform(dict(img=np.zeros((4, 4), np.uint8)))


@pytest.mark.parametrize('shape, crop_size, padding', [
    ((28, 28), 28, 2),             # 5 x 5 offsets x 2 flips = 50 views
    ((32, 32, 3), 32, 4),          # 9 x 9 x 2 = 162
    ((5, 7), (6, 4), (1, 2, 3, 0)),
    ((6, 6), 10, 1),
    ((4, 4), 4, 0),                # one offset: 2 views
])
def test_recorded_view_renders_the_image_the_transform_gave(shape, crop_size,
                                                            padding):
    transform = TRANSFORMS.build(dict(type='RandomPadCropFlip',
                                      crop_size=crop_size, padding=padding))
    images = np.random.RandomState(1).randint(
        0, 256, (300, ) + shape).astype(np.uint8)
    num_views = transform.num_views(*shape[:2])
    rows, cols = transform.view_grid(*shape[:2])
    assert num_views == rows * cols * 2
    seen = set()
    for seed, img in enumerate(images):
        np.random.seed(seed)
        out = transform(dict(img=img.copy()))
        view = out['view']
        assert 0 <= view < num_views
        assert view % 2 == int(out['flip'])
        seen.add(view)
        np.testing.assert_array_equal(
            transform.render_views(img[None], view)[0], out['img'])
    # 300 draws reach most views; a view number is the draw, not a constant.
    assert len(seen) >= min(num_views, 40)
    # Every view of a batch at once is the views of each image.
    batch = transform.render_views(images[:4], num_views - 1)
    for img, view_img in zip(images[:4], batch):
        np.testing.assert_array_equal(
            transform.render_views(img[None], num_views - 1)[0], view_img)
    with pytest.raises(ValueError, match=f'has {num_views} views'):
        transform.render_views(images[:1], num_views)
