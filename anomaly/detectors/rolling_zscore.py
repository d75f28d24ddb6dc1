"""The rolling z-score detector: how far a window's last value lies from the rows before it, in their
standard deviations.

A baseline that takes ten lines and no training, run through the same windows, threshold methods,
decision path and storage as the LSTM autoencoder, so that the model always has something simple to
beat, on the same data and under the same rules. Its errors are causal by construction: a window's
error depends on its own rows only, and it is given to the window's last row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from anomaly.data.types import PreparedStream
from anomaly.detectors.base import LabelIntervals
from anomaly.detectors.statistical import SPREAD_FLOOR, StatisticalDetector
from anomaly.results import WindowScores
from anomaly.windowing import gather_windows, window_starts


class RollingZScoreDetector(StatisticalDetector):
    """``max over channels |x_last - mean(x_rest)| / std(x_rest)`` per window, where ``x_rest`` are the
    window's first ``length - 1`` rows; the threshold is learnt on the windows of the fitted rows."""

    name = "rolling_zscore"

    def _fit_core(self, stream: PreparedStream, excluded: np.ndarray, labels: LabelIntervals | None) -> None:
        scaled, starts = self._scale_and_cut(stream, excluded)
        errors = _z_scores(gather_windows(scaled, starts, self.window.length))
        self._learn_threshold(stream, starts, errors, labels, starts)
        self._complete_fit(stream, scaled, starts)

    def _score_core(self, stream: PreparedStream, first_row: int) -> WindowScores:
        length = self.window.length
        starts = window_starts(stream.segment, length, 1, first_end=first_row)
        errors = _z_scores(self._scaled_windows(stream, starts))
        step_errors = np.zeros((len(starts), length))
        step_errors[:, -1] = errors
        return WindowScores(starts=starts, window_errors=errors, step_errors=step_errors)

    @property
    def windows_to_confirm(self) -> int:
        """One: a window's error is its last row's alone, so a spike of three rows flags about three
        windows, not a window length of them."""
        return 1

    def history_rows_needed(self, frequency: pd.Timedelta) -> int:
        """The window: each error depends on its own rows only."""
        return self.window.length

    def reconstruct(self, stream: PreparedStream, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each window with its last row replaced by the mean of the rows before it (what the detector
        expected there), in the data's units, and its shape (z-normalised values) as the embedding."""
        self._check_fitted()
        windows = self._scaled_windows(stream, starts)
        expected = windows.copy()
        expected[:, -1] = windows[:, :-1].mean(axis=1)
        return self.scaler_.inverse_transform(expected), self._embed(windows)


def _z_scores(windows: np.ndarray) -> np.ndarray:
    """(n,) the largest over channels of the last row's z-score against the rows before it."""
    if len(windows) == 0:
        return np.empty(0)
    rest, last = windows[:, :-1], windows[:, -1]
    spread = np.maximum(rest.std(axis=1, ddof=1), SPREAD_FLOOR)
    return (np.abs(last - rest.mean(axis=1)) / spread).max(axis=1)
