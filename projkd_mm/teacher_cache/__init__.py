"""A frozen teacher's outputs, computed once per view of every training
image and read back during training (``tools/cache_teacher.py``,
``model.teacher_cache``)."""
from projkd_mm.teacher_cache.errors import TeacherCacheError
from projkd_mm.teacher_cache.store import TeacherCacheStore
from projkd_mm.teacher_cache.views import (
    load_source_images,
    pipeline_fingerprint,
    split_pipeline,
)

__all__ = ['TeacherCacheError', 'TeacherCacheStore', 'load_source_images',
           'pipeline_fingerprint', 'split_pipeline']
