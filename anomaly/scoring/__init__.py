"""Scoring: from a model's residuals to the window errors a threshold judges.

- ``window_scorer``: ``WindowScorer``, the role a detector composes (MSE or Mahalanobis, then
  EWMA smoothing and trailing z-scores, as ``ScoringConfig`` says).
- ``mahalanobis``: EncDec-AD's error vectors and their distance from normal ones.
- ``smoothing``: ``ewma`` and ``trailing_z`` in time order, restarting at gaps.
"""

from anomaly.scoring.mahalanobis import MahalanobisScorer, error_vectors
from anomaly.scoring.smoothing import EWMA_TOLERANCE, ewma, ewma_warm_up, trailing_z
from anomaly.scoring.window_scorer import WindowScorer

__all__ = [
    "EWMA_TOLERANCE",
    "MahalanobisScorer",
    "WindowScorer",
    "error_vectors",
    "ewma",
    "ewma_warm_up",
    "trailing_z",
]
