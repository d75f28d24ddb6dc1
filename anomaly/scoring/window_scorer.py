"""The window scorer: a model's residuals to the window errors a threshold judges, as ``ScoringConfig`` says.

Each decoder's residuals become a mean squared error (or a Mahalanobis distance learnt on held-out
windows); the decoders' errors are summed, as a composite model's training loss is, then optionally
smoothed (EWMA) and judged against the windows before them (trailing z-score). Step errors, where in a
window the error sits, are kept apart from that choice so that peaks are placed the same way whatever
the scoring.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Self

import numpy as np

from anomaly.config import ScoringConfig
from anomaly.errors import ModelError
from anomaly.model.residuals import Residuals, at_offsets
from anomaly.results import WindowScores
from anomaly.scoring.mahalanobis import MahalanobisScorer, error_vectors
from anomaly.scoring.smoothing import ewma, ewma_warm_up, trailing_z


class WindowScorer:
    """Residuals -> ``WindowScores`` for windows of ``window_length`` rows."""

    def __init__(self, *, config: ScoringConfig, window_length: int) -> None:
        self.config = config
        self.window_length = window_length

    def fit(self, held_out: Callable[[], Residuals]) -> Self:
        """Learn what the configured error needs from the residuals of windows the model did not train
        on (the Mahalanobis mean and covariance per decoder; nothing for MSE). ``held_out`` computes
        them, and is called only where they are needed: that is a forward pass over the held-out windows."""
        self.mahalanobis_ = {}
        if self.config.error == "mahalanobis":
            self.mahalanobis_ = {
                name: MahalanobisScorer.fit(error_vectors(part)) for name, part in held_out().parts().items()
            }
        return self

    @property
    def warm_up(self) -> int:
        """Windows to score before the first one wanted, so that smoothing and trailing statistics of an
        incremental run match a one-shot run's (to ``anomaly.scoring.smoothing.EWMA_TOLERANCE``)."""
        return ewma_warm_up(self.config.ewma_alpha) + (self.config.trailing or 0)

    def score(self, residuals: Residuals, starts: np.ndarray) -> WindowScores:
        """Window and step errors of the windows at ``starts`` (sorted) whose residuals are given."""
        if not hasattr(self, "mahalanobis_"):
            raise ModelError("this window scorer has not been fitted: call fit() or from_dict() first")
        step_parts, window_parts = [], []
        for name, part in residuals.parts().items():
            squared = (part**2).mean(axis=2)
            if name == "reconstruction":
                steps, mse = squared, squared.mean(axis=1)
            else:
                steps = at_offsets(squared[:, :, None], residuals.targets, self.window_length, 0.0)[:, :, 0]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # no target at all: NaN, by design
                    mse = np.nanmean(squared, axis=1)
            step_parts.append(steps)
            if self.config.error == "mahalanobis":
                window_parts.append(self.mahalanobis_[name].window_errors(error_vectors(part)))
            else:
                window_parts.append(mse)
        window_errors = sum(window_parts[1:], window_parts[0])
        if self.config.ewma_alpha is not None:
            window_errors = ewma(window_errors, starts, self.config.ewma_alpha)
        if self.config.trailing is not None:
            window_errors = trailing_z(window_errors, starts, self.config.trailing)
        step_errors = sum(step_parts[1:], step_parts[0])
        return WindowScores(starts=starts, window_errors=window_errors, step_errors=step_errors)

    def to_dict(self) -> dict[str, Any]:
        """The learnt state as plain lists, for the model's JSON record."""
        return {name: scorer.to_dict() for name, scorer in self.mahalanobis_.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, config: ScoringConfig, window_length: int) -> WindowScorer:
        """Inverse of ``to_dict``."""
        scorer = cls(config=config, window_length=window_length)
        scorer.mahalanobis_ = {name: MahalanobisScorer.from_dict(part) for name, part in data.items()}
        return scorer
