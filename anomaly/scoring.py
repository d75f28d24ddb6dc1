"""From a model's residuals to the window errors the threshold sees: Mahalanobis distance, EWMA smoothing.

- ``error_vectors`` turns residuals into the absolute-error vectors EncDec-AD models (Malhotra et al. 2016).
- ``MahalanobisScorer`` learns their mean and (shrunk) covariance on held-out windows and scores new
  ones by their distance from that normal cloud.
- ``ewma`` smooths window errors in time order, restarting wherever the windows are not consecutive,
  and ``ewma_warm_up`` says how many earlier windows make an incremental run match a one-shot one.
- ``trailing_z`` judges each window's error against the errors of the windows just before it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from anomaly.errors import DataError

EWMA_TOLERANCE = 1e-6


def error_vectors(residuals: np.ndarray) -> np.ndarray:
    """Absolute errors (n, vectors, dim) from residuals (n_windows, steps, channels); NaN stays NaN.

    With several channels each step is one vector over the channels (EncDec-AD's per-point error
    vector: the covariance captures which channels normally err together). With one channel such a
    vector is a scalar and would only rescale the MSE, so the window's steps form one vector instead:
    the covariance then captures how errors normally run along the window.
    """
    absolute = np.abs(residuals)
    if residuals.shape[2] > 1:
        return absolute
    return absolute.transpose(0, 2, 1)


@dataclass(frozen=True, eq=False)
class MahalanobisScorer:
    """Mean (dim,) and precision (dim, dim) of normal error vectors."""

    mean: np.ndarray
    precision: np.ndarray

    @classmethod
    def fit(cls, vectors: np.ndarray) -> MahalanobisScorer:
        """Fit on error vectors (n, vectors, dim); vectors holding NaN (no target) are left out.

        Ledoit-Wolf shrinkage towards a scaled identity keeps the covariance invertible when vectors
        are few or channels constant; a relative ridge of 1e-9 covers the all-equal case.
        """
        from sklearn.covariance import LedoitWolf

        flat = vectors.reshape(-1, vectors.shape[-1]).astype(float)
        flat = flat[np.isfinite(flat).all(axis=1)]
        if len(flat) < 2:
            raise DataError("too few held-out windows to learn the Mahalanobis error (need 2 or more)")
        covariance = LedoitWolf().fit(flat).covariance_
        ridge = 1e-9 * max(float(np.trace(covariance)) / len(covariance), np.finfo(float).tiny)
        precision = np.linalg.inv(covariance + ridge * np.eye(len(covariance)))
        return cls(mean=flat.mean(axis=0), precision=(precision + precision.T) / 2)

    def window_errors(self, vectors: np.ndarray) -> np.ndarray:
        """Per window (n,), the mean over its vectors of their Mahalanobis distance.

        A step without a target (NaN) counts as lying at the mean in a one-vector window, and is
        skipped among per-step vectors; a window with no target at all gets NaN.
        """
        deviation = vectors.astype(float) - self.mean
        missing = np.isnan(deviation)
        deviation[missing] = 0.0
        squared = np.einsum("nkd,de,nke->nk", deviation, self.precision, deviation)
        distances = np.sqrt(np.maximum(squared, 0.0))
        distances[missing.all(axis=2)] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN, as documented
            return np.nanmean(distances, axis=1)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists for the model's JSON record."""
        return {"mean": self.mean.tolist(), "precision": self.precision.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MahalanobisScorer:
        """Inverse of ``to_dict``."""
        return cls(
            mean=np.asarray(data["mean"], dtype=float), precision=np.asarray(data["precision"], dtype=float)
        )


def ewma(values: np.ndarray, starts: np.ndarray, alpha: float) -> np.ndarray:
    """Exponentially weighted moving average of window ``values`` (n,) in the order of ``starts``.

    ``s = alpha * x + (1 - alpha) * s_previous``, started at the first value of every run of
    consecutive starts: windows never span a gap, so a jump in the starts is a segment boundary (or
    windows left out) and the smoothing does not carry errors across it.
    """
    from scipy.signal import lfilter

    values = np.asarray(values, dtype=float)
    smoothed = np.empty_like(values)
    run_starts = np.flatnonzero(np.diff(starts) != 1) + 1
    for run in np.split(np.arange(len(values)), run_starts):
        if len(run):
            first = values[run[0]]
            smoothed[run] = lfilter([alpha], [1.0, alpha - 1.0], values[run], zi=[(1.0 - alpha) * first])[0]
    return smoothed


def ewma_warm_up(alpha: float | None) -> int:
    """Windows to score before the first one wanted so that the smoothing's start-up has decayed below
    ``EWMA_TOLERANCE`` (relative): ``ceil(log(tol) / log(1 - alpha))``; 0 without smoothing."""
    if alpha is None or alpha >= 1:
        return 0
    return math.ceil(math.log(EWMA_TOLERANCE) / math.log(1.0 - alpha))


TRAILING_MIN_WINDOWS = 10
SPREAD_FLOOR = 0.1


def trailing_z(values: np.ndarray, starts: np.ndarray, windows: int) -> np.ndarray:
    """Each window error (n,) as a z-score against the ``windows`` errors before it, in the order of
    ``starts``: ``(e - mean) / max(std, 0.1 * |mean|)`` of the preceding errors of the same run of
    consecutive starts (windows never span a gap, so the history restarts after one).

    A model's error level moves with the data (a busier season, a noisier sensor), and a fixed threshold
    then either sleeps through the quiet months or fires all through the busy ones; against its own
    recent level, what stands out is a change, which is what an alarm should announce (the idea behind
    NAB's anomaly likelihood and telemanom's windowed thresholds). The spread floor keeps a very steady
    stretch from turning tiny wiggles into huge scores. Windows with fewer than ``TRAILING_MIN_WINDOWS``
    errors before them in their run get 0: no history, no judgement.
    """
    values = np.asarray(values, dtype=float)
    run = np.concatenate([[0], np.cumsum(np.diff(starts) != 1)]) if len(values) else np.empty(0, dtype=int)
    previous = pd.Series(values).groupby(run).shift(1)
    rolling = previous.groupby(run).rolling(windows, min_periods=min(windows, TRAILING_MIN_WINDOWS))
    mean = rolling.mean().droplevel(0).sort_index().to_numpy()
    spread = np.maximum(rolling.std().droplevel(0).sort_index().to_numpy(), SPREAD_FLOOR * np.abs(mean))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (values - mean) / spread
    return np.where(np.isfinite(z), z, 0.0)
