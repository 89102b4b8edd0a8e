"""The teacher cache's error type."""


class TeacherCacheError(ValueError):
    """A teacher cache that cannot serve this run: missing, incomplete,
    damaged, built for another teacher, dataset or pipeline, or a pipeline
    whose views cannot be enumerated."""
