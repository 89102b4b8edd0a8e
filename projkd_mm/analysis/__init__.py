"""Measurements behind the paper's claims about projectors.

Chen et al., "Improved Feature Distillation via Projector Ensemble",
NeurIPS 2022, argue that distilling without a projector makes the
student's features too similar to the teacher's (high CKA) and hurts its
generalisation. These functions measure that on trained checkpoints; the
command-line front end is ``tools/analysis/feature_similarity.py``.
"""
from projkd_mm.analysis.calibration import (
                                            calibration_bins,
                                            expected_calibration_error,
)
from projkd_mm.analysis.cka import linear_cka
from projkd_mm.analysis.features import ClassifierOutputs, extract_outputs

__all__ = [
    'ClassifierOutputs', 'calibration_bins', 'expected_calibration_error',
    'extract_outputs', 'linear_cka'
]
