from projkd_mm.models.algorithms.checked_single_teacher_distill import (
    CheckedSingleTeacherDistill,
)

__all__ = ['CheckedSingleTeacherDistill']
