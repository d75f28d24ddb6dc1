"""A rolling z-score baseline: how far each value is from the mean of the rows just before it, in
standard deviations of those rows.

It gives the LSTM autoencoder something simple to beat under the same protocols and output contract;
its errors are causal by construction, and its threshold is learnt the same way as the detector's.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd

from anomaly.config import PipelineConfig
from anomaly.data.types import PreparedStream
from anomaly.thresholds import learn_threshold


class RollingZScore:
    """``|x_t - mean(x_{t-w..t-1})| / std(x_{t-w..t-1})``, the largest over channels, with ``w`` the
    configured window length; the trailing rows never cross a gap between segments."""

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config

    def fit(self, stream: PreparedStream) -> Self:
        """Learn the threshold from the z-scores of the fitted rows (no labels)."""
        errors = self._z_scores(stream)
        self.threshold_ = learn_threshold(errors[np.isfinite(errors)], self.config.threshold)
        return self

    def row_errors(self, stream: PreparedStream, *, first_row: int, causal: bool) -> np.ndarray:
        """The z-scores from ``first_row`` on (always causal: only earlier rows are used)."""
        errors = self._z_scores(stream)
        errors[:first_row] = np.nan
        return errors

    def _z_scores(self, stream: PreparedStream) -> np.ndarray:
        length = self.config.window.length
        values = stream.values.groupby(stream.segment)
        trailing = values.shift(1)
        mean = trailing.groupby(stream.segment).rolling(length).mean().droplevel(0)
        spread = trailing.groupby(stream.segment).rolling(length).std().droplevel(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = ((stream.values - mean) / spread.where(spread > 0)).abs()
        return np.array(pd.DataFrame(z).max(axis=1, skipna=False), dtype=float)


def rolling_z_scorer(config: PipelineConfig) -> RollingZScore:
    """Scorer factory for ``evaluate(..., scorer=rolling_z_scorer)``."""
    return RollingZScore(config)
