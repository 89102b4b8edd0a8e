"""Check a run's training data against its teacher cache."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from projkd_mm.models.algorithms.teacher_outputs import CachedTeacher
from projkd_mm.teacher_cache import (
    TeacherCacheError,
    load_source_images,
    pipeline_fingerprint,
    split_pipeline,
)


@HOOKS.register_module()
class TeacherCacheHook(Hook):
    """Before training from a teacher cache (``model.teacher_cache``),
    check that the cache was built over this run's training data.

    The model checks what it knows at build time (teacher checkpoint, the
    teacher's and the preprocessor's config, the recorders); the data are
    the Runner's. This hook builds the full training dataset (without its
    ``indices``) with the deterministic start of the training pipeline and
    compares its images, their order and the pipeline's view geometry with
    the cache's header; a difference is an error naming the field and the
    command that rebuilds the cache. It also picks the metainfo key that
    names a sample's row: ``source_idx`` (the image's index in the full
    dataset, kept in a subset; ``CheckedFashionMNIST`` records it), or
    ``sample_idx`` for a dataset read whole. Without a cache it does
    nothing. Every projkd_mm config has it (``_base_/projkd_runtime.py``)::

        custom_hooks = [dict(type='TeacherCacheHook')]
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        cached = getattr(model, 'teacher_outputs', None)
        if not isinstance(cached, CachedTeacher):
            return
        dataset_cfg = runner.cfg.train_dataloader.dataset
        pipeline = dataset_cfg.get('pipeline', [])
        _, _, after = split_pipeline(pipeline)
        _, data = load_source_images(dataset_cfg)
        views = pipeline_fingerprint(pipeline, data['image_shape'])
        index_key = self._index_key(runner.train_dataloader.dataset)
        meta_keys = None
        for transform in after:
            meta_keys = transform.get('meta_keys')
        from mmpretrain.datasets.transforms import PackInputs
        meta_keys = PackInputs.DEFAULT_META_KEYS if meta_keys is None \
            else meta_keys
        missing = [k for k in (index_key, 'view') if k not in meta_keys]
        if missing:
            raise TeacherCacheError(
                f'The training pipeline\'s PackInputs drops '
                f'{" and ".join(map(repr, missing))}, which name a sample\'s '
                'row of the teacher cache. Add them to its meta_keys: '
                "dict(type='PackInputs', meta_keys=('sample_idx', "
                f"'img_shape', 'flip', 'flip_direction', '{index_key}', "
                "'view')).")
        cached.check_data(data, views, index_key)
        runner.logger.info(
            f'Teacher cache {cached.store.directory}: built for these '
            f"{data['size']} training images and their "
            f"{views['views']['count']} views (rows by {index_key!r}).")

    @staticmethod
    def _index_key(dataset) -> str:
        if len(dataset) and 'source_idx' in dataset.get_data_info(0):
            return 'source_idx'
        if getattr(dataset, '_indices', None) is None:
            return 'sample_idx'
        raise TeacherCacheError(
            f'The training dataset ({type(dataset).__name__}) is a subset '
            '(indices=...) whose samples do not record their index in the '
            'full dataset (source_idx), so their rows of the teacher cache '
            'are unknown: mmengine numbers a subset from 0. Train on the '
            'whole dataset, or use a dataset that records source_idx (as '
            'CheckedFashionMNIST does).')
