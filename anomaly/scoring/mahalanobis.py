"""Mahalanobis window errors (Malhotra et al. 2016, EncDec-AD): absolute-error vectors and their distance
from the cloud of normal ones, learnt on held-out windows."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from anomaly.errors import DataError


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
