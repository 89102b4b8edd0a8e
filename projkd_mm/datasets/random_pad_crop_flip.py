"""mmpretrain's ``RandomCrop(padding=...)`` + ``RandomFlip`` in one cheap
step, with the same random draws."""
import numbers
from typing import Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS


def _is_int(value) -> bool:
    """An integer that is not a bool (True would read as a size of 1)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _pair(value, name: str) -> Tuple[int, int]:
    if _is_int(value):
        return int(value), int(value)
    if (isinstance(value, Sequence) and len(value) == 2
            and all(_is_int(v) for v in value)):
        return int(value[0]), int(value[1])
    raise TypeError(f'RandomPadCropFlip: {name} must be an int or two ints, '
                    f'got {value!r}.')


def _padding(value) -> Tuple[int, int, int, int]:
    """(left, top, right, bottom), read as ``mmcv.impad`` reads it."""
    if _is_int(value):
        sides = (int(value), ) * 4
    elif (isinstance(value, Sequence) and len(value) in (2, 4)
          and all(_is_int(v) for v in value)):
        sides = tuple(int(v) for v in value)
        if len(sides) == 2:
            sides = sides * 2
    else:
        raise TypeError('RandomPadCropFlip: padding must be an int, '
                        '(left/right, top/bottom) or (left, top, right, '
                        f'bottom), got {value!r}.')
    if min(sides) < 0:
        raise ValueError(
            f'RandomPadCropFlip: padding must not be negative, got {value!r}.')
    return sides


def _pad_values(value) -> Tuple[float, ...]:
    """``pad_val`` as a tuple of one value, or one per channel."""
    values = tuple(value) if isinstance(value, Sequence) and \
        not isinstance(value, str) else (value, )
    if not values or not all(isinstance(v, numbers.Real)
                             and not isinstance(v, bool) for v in values):
        raise TypeError('RandomPadCropFlip: pad_val must be a number or one '
                        f'number per channel, got {value!r}.')
    if not all(np.isfinite(v) for v in values):
        raise ValueError(f'RandomPadCropFlip: pad_val must be finite, got '
                         f'{value!r}.')
    return values


@TRANSFORMS.register_module()
class RandomPadCropFlip(BaseTransform):
    """Zero-pad, crop at a random offset, flip horizontally at random.

    The CIFAR/Fashion-MNIST training augmentation of RepDistiller and PEFD,
    in one transform that gives exactly the images, and consumes exactly
    the NumPy random draws, of mmpretrain's pair::

        dict(type='RandomCrop', crop_size=28, padding=2),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),

    so a config can swap one for the other and train the same model (the
    tests compare the two image by image under one seed). It is faster
    because it never builds the padded image: it copies the part of the
    source the crop window covers into a ``pad_val`` canvas, flipped if
    drawn. On 28x28 Fashion-MNIST that saves about 62 us of the 111 us an
    image takes to load with the pair (``benchmarks/data_pipeline.py``);
    with ``num_workers=0``, which the Fashion-MNIST configs use, that is
    time of every training step.

    Draws, as mmpretrain/mmcv make them: ``np.random.randint`` for the row
    offset, then for the column offset (neither when the padded image
    already has the crop size), then the one uniform draw of
    ``np.random.choice`` between flip and no flip.

    Required keys: ``img`` (``(height, width)`` or ``(height, width,
    channels)``). Modified keys: ``img``, ``img_shape``. Added keys:
    ``flip``, ``flip_direction`` (``'horizontal'`` or ``None``) and
    ``view``: which of the image's :meth:`num_views` views was drawn,
    ``(row_offset * num_column_offsets + column_offset) * 2 + flip``. A
    frozen teacher's output depends on the image and this number only,
    which is what lets ``tools/cache_teacher.py`` run the teacher once per
    view (pack it with ``PackInputs(meta_keys=(..., 'view'))``).

    Args:
        crop_size (int | Sequence[int]): Output ``(height, width)``; an int
            for a square. A padded image smaller than it is cropped to its
            own size on that side, as ``RandomCrop`` does.
        padding (int | Sequence[int]): Padding before the crop: an int
            for every side, ``(left/right, top/bottom)`` or ``(left, top,
            right, bottom)``, as ``RandomCrop`` reads it. Defaults to 0.
        pad_val (Number | Sequence[Number]): Value of the padded pixels
            (one per channel, or one for all), clipped to the range of an
            integer image as ``RandomCrop`` (cv2) clips it. Defaults to 0.
        flip_prob (float): Probability of the horizontal flip, in [0, 1].
            Defaults to 0.5.
    """

    def __init__(self,
                 crop_size: Union[int, Sequence[int]],
                 padding: Union[int, Sequence[int]] = 0,
                 pad_val: Union[numbers.Number, Sequence[numbers.Number]] = 0,
                 flip_prob: float = 0.5) -> None:
        self.crop_size = _pair(crop_size, 'crop_size')
        if min(self.crop_size) <= 0:
            raise ValueError('RandomPadCropFlip: crop_size must be positive, '
                             f'got {crop_size!r}.')
        self.padding = _padding(padding)
        self.pad_val = pad_val
        self._pad_values = _pad_values(pad_val)
        self._fills = {}
        if not (isinstance(flip_prob, numbers.Real)
                and not isinstance(flip_prob, bool) and 0 <= flip_prob <= 1):
            raise ValueError('RandomPadCropFlip: flip_prob must be a number '
                             f'in [0, 1], got {flip_prob!r}.')
        self.flip_prob = float(flip_prob)
        # mmcv's RandomFlip calls np.random.choice([direction, None],
        # p=[prob, 1 - prob]): one uniform draw, compared with the first
        # bin of the normalised cumulative p. The same draw and threshold,
        # without choice()'s checks of p at every image.
        cdf = np.cumsum([self.flip_prob, 1.0 - self.flip_prob])
        self._flip_below = (cdf / cdf[-1])[0]

    def _offsets(self, height: int, width: int) -> Tuple[int, int, int, int]:
        """Random (row, column) offset and (height, width) of the crop in
        the padded image, drawn as ``RandomCrop.rand_crop_params``."""
        target_h, target_w = self.crop_size
        if (height, width) == (target_h, target_w):
            return 0, 0, height, width
        target_h, target_w = min(height, target_h), min(width, target_w)
        offset_h = np.random.randint(0, height - target_h + 1)
        offset_w = np.random.randint(0, width - target_w + 1)
        return offset_h, offset_w, target_h, target_w

    def view_grid(self, height: int, width: int) -> Tuple[int, int]:
        """How many row and column offsets the crop can take in an image of
        ``(height, width)`` (before padding)."""
        left, top, right, bottom = self.padding
        pad_h, pad_w = top + height + bottom, left + width + right
        return (pad_h - min(pad_h, self.crop_size[0]) + 1,
                pad_w - min(pad_w, self.crop_size[1]) + 1)

    def num_views(self, height: int, width: int) -> int:
        """How many distinct views an image of ``(height, width)`` has:
        every crop offset, flipped and not."""
        rows, cols = self.view_grid(height, width)
        return rows * cols * 2

    def render_views(self, images: np.ndarray, view: int) -> np.ndarray:
        """View number ``view`` of each of a batch of images.

        The same pixels :meth:`transform` gives an image whose draw was
        that view, for a whole batch at once (how ``tools/cache_teacher.py``
        enumerates the views).

        Args:
            images (np.ndarray): ``(batch, height, width)`` or ``(batch,
                height, width, channels)``.
            view (int): In ``[0, num_views(height, width))``: see
                :meth:`transform` for the numbering.

        Returns:
            np.ndarray: ``(batch, crop_h, crop_w[, channels])``.
        """
        height, width = images.shape[1:3]
        rows, cols = self.view_grid(height, width)
        if not 0 <= view < rows * cols * 2:
            raise ValueError(
                f'RandomPadCropFlip: view {view} does not exist for a '
                f'{height}x{width} image, which has {rows * cols * 2} views.')
        offset, flip = divmod(view, 2)
        off_h, off_w = divmod(offset, cols)
        return self._render(images, off_h, off_w, bool(flip))

    def _render(self, images: np.ndarray, off_h: int, off_w: int,
                flip: bool) -> np.ndarray:
        """Crop at ``(off_h, off_w)`` of the padded images, flipped if
        ``flip``; ``images`` has a leading batch dimension."""
        left, top, right, bottom = self.padding
        height, width = images.shape[1:3]
        out_h = min(top + height + bottom, self.crop_size[0])
        out_w = min(left + width + right, self.crop_size[1])
        out = np.empty(images.shape[:1] + (out_h, out_w) + images.shape[3:],
                       dtype=images.dtype)
        out[...] = self._fill(images)
        # The crop window in source coordinates, clipped to the source.
        src_top, src_left = off_h - top, off_w - left
        y0, x0 = max(src_top, 0), max(src_left, 0)
        y1 = min(src_top + out_h, height)
        x1 = min(src_left + out_w, width)
        if y1 > y0 and x1 > x0:
            out[:, y0 - src_top:y1 - src_top,
                x0 - src_left:x1 - src_left] = images[:, y0:y1, x0:x1]
        if flip:
            out = np.ascontiguousarray(out[:, :, ::-1])
        return out

    def _fill(self, images: np.ndarray) -> np.ndarray:
        """``pad_val`` for these images: one value per channel, clipped to
        the range of an integer dtype as cv2 (``RandomCrop``) clips it."""
        channels = images.shape[3] if images.ndim == 4 else 1
        key = (images.dtype, channels)
        if key in self._fills:  # one per dtype: the per-image cost stays low
            return self._fills[key]
        if len(self._pad_values) not in (1, channels):
            raise ValueError(
                f'RandomPadCropFlip: pad_val={self.pad_val!r} gives '
                f'{len(self._pad_values)} values, the image '
                f'{images.shape[1:]} has {channels} channel'
                f'{"s" * (channels > 1)}: give one value, or one per '
                'channel.')
        fill = np.array(self._pad_values)
        if np.issubdtype(images.dtype, np.integer):
            info = np.iinfo(images.dtype)
            fill = np.clip(np.round(fill), info.min, info.max)
        self._fills[key] = fill.astype(images.dtype)
        return self._fills[key]

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim not in (2, 3):
            raise ValueError(
                'RandomPadCropFlip takes (height, width) or (height, width, '
                f'channels) images, got an image of shape {img.shape}. Load '
                'images as 2-d arrays (a flat row of pixels needs a reshape '
                'before the transform).')
        left, top, right, bottom = self.padding
        height, width = img.shape[:2]
        off_h, off_w, _, _ = self._offsets(top + height + bottom,
                                           left + width + right)
        flip = bool(np.random.random_sample() < self._flip_below)
        out = self._render(img[None], off_h, off_w, flip)[0]
        results['img'] = out
        results['img_shape'] = out.shape
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        # Which of the image's views this is: the key of the teacher cache.
        cols = self.view_grid(height, width)[1]
        results['view'] = (off_h * cols + off_w) * 2 + int(flip)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'padding={self.padding}, pad_val={self.pad_val}, '
                f'flip_prob={self.flip_prob})')
