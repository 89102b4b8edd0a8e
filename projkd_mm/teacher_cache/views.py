"""Which views a training pipeline can draw, and the images they are drawn
from: what a teacher cache is built over and checked against."""
import copy
import hashlib
import os.path as osp
from typing import Any, Dict, List, Tuple

import numpy as np

from projkd_mm.teacher_cache.errors import TeacherCacheError

#: The one random transform whose views a cache enumerates.
AUGMENTATION = 'RandomPadCropFlip'
#: Transforms that give one output per input: allowed before it.
DETERMINISTIC = ('LoadImageFromFile', 'Resize', 'ResizeEdge', 'CenterCrop')
#: Allowed after it (it only packs; its meta_keys carry the view).
PACKING = ('PackInputs', )
#: The augmentation arguments a view's pixels depend on (``flip_prob``
#: changes how often a view is drawn, not what it looks like).
VIEW_ARGS = ('crop_size', 'padding', 'pad_val')


def transform_type(cfg: Dict) -> str:
    """A transform config's type without its scope (``mmpretrain.X`` ->
    ``X``)."""
    name = cfg.get('type')
    name = name if isinstance(name, str) else getattr(name, '__name__', '')
    return name.rsplit('.', 1)[-1]


def plain(obj: Any) -> Any:
    """``obj`` (a config, possibly of ConfigDicts and tuples) as plain JSON
    data: dicts with string keys, lists, numbers, strings."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, type):
        return f'{obj.__module__}.{obj.__qualname__}'
    return obj


def split_pipeline(pipeline: List[Dict]) -> Tuple[List[Dict], Dict,
                                                   List[Dict]]:
    """``(before, augmentation, after)`` of a training pipeline.

    Raises:
        TeacherCacheError: the pipeline draws views a cache cannot
            enumerate (a transform other than the ones listed in this
            module), or has no or several ``RandomPadCropFlip``.
    """
    types = [transform_type(t) for t in pipeline]
    found = [i for i, name in enumerate(types) if name == AUGMENTATION]
    if len(found) != 1:
        raise TeacherCacheError(
            f'A teacher cache enumerates the views of one {AUGMENTATION} '
            f'transform; the training pipeline has {len(found)} '
            f'({", ".join(types) or "no transforms"}). Use '
            f"dict(type='{AUGMENTATION}', crop_size=..., padding=...) as "
            'its random augmentation (it replaces RandomCrop(padding) + '
            'RandomFlip with the same draws), or train without '
            'model.teacher_cache.')
    at = found[0]
    for i, name in enumerate(types):
        allowed = DETERMINISTIC if i < at else PACKING if i > at else (
            AUGMENTATION, )
        if name not in allowed:
            where = 'before' if i < at else 'after'
            raise TeacherCacheError(
                f'Transform {name!r} (position {i} of the training '
                f'pipeline, {where} {AUGMENTATION}) is not one a teacher '
                'cache can enumerate the views of: a cache holds the '
                'teacher\'s output for every view of every image, so the '
                f'pipeline may only hold deterministic transforms '
                f'({", ".join(DETERMINISTIC)}) before {AUGMENTATION} and '
                f'{", ".join(PACKING)} after it. Remove {name!r} from the '
                'pipeline, or train without model.teacher_cache (the '
                'teacher then runs at every step).')
    return list(pipeline[:at]), dict(pipeline[at]), list(pipeline[at + 1:])


def build_augmentation(cfg: Dict):
    """The ``RandomPadCropFlip`` of an augmentation config."""
    from mmpretrain.registry import TRANSFORMS
    cfg = dict(cfg, type=AUGMENTATION)
    return TRANSFORMS.build(cfg)


def load_source_images(dataset_cfg: Dict) -> Tuple[np.ndarray, Dict]:
    """Every image of the full dataset a training loader reads, as the
    training pipeline has it just before ``RandomPadCropFlip``.

    The dataset is built from ``dataset_cfg`` without its ``indices`` (a
    cache covers the whole dataset, a run reads the rows of its subset)
    and with the deterministic start of its pipeline.

    Returns:
        tuple: ``images`` (``(num_images, height, width[, channels])``) and
        the dataset's fingerprint: type, root, split, size, image shape and
        the SHA-256 of the images and labels in their order.
    """
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    cfg = copy.deepcopy(dict(dataset_cfg))
    if transform_type(cfg) in ('ConcatDataset', 'RepeatDataset',
                               'ClassBalancedDataset', 'KFoldDataset'):
        raise TeacherCacheError(
            f'The training dataset is a {transform_type(cfg)}: a teacher '
            'cache indexes the images of one dataset. Train from the '
            'dataset itself, or without model.teacher_cache.')
    before, _, _ = split_pipeline(cfg.get('pipeline', []))
    cfg.pop('indices', None)
    cfg['pipeline'] = before
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = DATASETS.build(cfg)
    if len(dataset) == 0:
        raise TeacherCacheError(
            f'The training dataset ({transform_type(cfg)} at '
            f'{cfg.get("data_root")!r}) holds no images.')
    images, labels = [], []
    for i in range(len(dataset)):
        sample = dataset[i]
        images.append(np.asarray(sample['img']))
        label = np.asarray(sample.get('gt_label', -1)).ravel()
        labels.append(int(label[0]) if label.size else -1)
    shapes = {img.shape for img in images}
    if len(shapes) != 1:
        raise TeacherCacheError(
            f'The training images have {len(shapes)} different shapes '
            f'(e.g. {sorted(shapes)[:3]}): a teacher cache needs images of '
            'one size before RandomPadCropFlip, so that every image has the '
            'same views. Add a deterministic Resize before it.')
    images = np.ascontiguousarray(np.stack(images))
    digest = hashlib.sha256()
    digest.update(repr((images.shape, str(images.dtype))).encode())
    digest.update(images.tobytes())
    digest.update(np.asarray(labels, dtype=np.int64).tobytes())
    root = cfg.get('data_root')
    fingerprint = dict(
        type=transform_type(cfg),
        data_root=osp.abspath(root) if isinstance(root, str) else root,
        split=cfg.get('split'),
        test_mode=bool(cfg.get('test_mode', False)),
        size=len(images),
        image_shape=list(images.shape[1:]),
        content_sha256=digest.hexdigest())
    return images, fingerprint


def pipeline_fingerprint(pipeline: List[Dict], image_shape) -> Dict:
    """What the views' pixels depend on: the transforms before the
    augmentation and the augmentation's geometry, and the views there are
    of an image of ``image_shape`` (``(height, width[, channels])``)."""
    before, augmentation, _ = split_pipeline(pipeline)
    transform = build_augmentation(augmentation)
    rows, cols = transform.view_grid(*image_shape[:2])
    return dict(
        before=plain(before),
        augmentation=dict(type=AUGMENTATION,
                          crop_size=list(transform.crop_size),
                          padding=list(transform.padding),
                          pad_val=plain(transform.pad_val)),
        views=dict(row_offsets=rows, column_offsets=cols, flips=2,
                   count=rows * cols * 2,
                   numbering='(row_offset * column_offsets + column_offset)'
                   ' * 2 + flip'))
