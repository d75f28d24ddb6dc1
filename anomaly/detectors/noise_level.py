"""The noise-level detector: how far a window's row-to-row movement rises above the stream's usual.

A noise burst, a cycle that suddenly runs faster, a frozen reading that jumps back when it thaws: each
can leave the level, the shape of a day and the range where they were, so a model of the window's
values or a comparison with earlier cycles may see little; what changes is how much the series moves
from one row to the next. The detector measures that movement, the root mean square of a window's
first differences per channel, as a log ratio to its median over the fitted windows: a burst of
five-fold noise over a fifth of a window is about +0.8. The error is the largest ratio over the
channels, counted upwards only: movement below the usual is every quiet night and weekend (measured
both ways, the sample's quiet weekends became false alarms), so the threshold, learnt on the fitted
windows as for every detector, sits above the stream's own busiest normal stretches.
A stream's noise also changes for good (a sensor ageing, a busier season, a new regime): against the
usual of the fitted rows alone, the detector would alarm on every window until the next retrain. So a
scored window's movement is judged against the larger of that usual and its recent usual, the median
movement of the windows of the ``RECENT_WINDOWS`` window lengths before it: a lasting change is news
while it begins and stops being news once it has lasted that long, while a burst after ordinary
stretches is judged as before. The threshold stays learnt against the fitted usual (learnt against
the recent one as well, the threshold fell with the errors, and nab-dev gained three false events);
docs/quality.md has both measurements.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from anomaly.data.types import PreparedStream
from anomaly.detectors.base import LabelIntervals
from anomaly.detectors.statistical import StatisticalDetector
from anomaly.results import WindowScores
from anomaly.windowing import gather_windows, window_starts

RECENT_WINDOWS = 10
"""Window lengths before a window whose median movement is its recent usual."""

MOVEMENT_FLOOR = 1e-3
"""Smallest movement (RMS first difference, in the channel's standardised units) a window or the
usual level is given, so that a channel that is usually flat does not make every movement infinitely
unusual."""


class NoiseLevelDetector(StatisticalDetector):
    """``max over channels max(log(movement / usual), 0)`` per window, where movement is the RMS of the
    window's first differences (standardised units) and ``usual`` the larger of ``usual_movement_``
    (channels,), its median over the fitted windows, and the window's recent usual (see the module);
    the threshold is learnt on the fitted windows' errors against ``usual_movement_``."""

    name = "noise_level"

    def _fit_core(self, stream: PreparedStream, excluded: np.ndarray, labels: LabelIntervals | None) -> None:
        scaled, starts = self._scale_and_cut(stream, excluded)
        movement = _movement(gather_windows(scaled, starts, self.window.length))
        self.usual_movement_ = np.median(movement, axis=0)
        self._learn_threshold(stream, starts, _log_ratios(movement, self.usual_movement_), labels, starts)
        self._complete_fit(stream, scaled, starts)

    def _score_core(self, stream: PreparedStream, first_row: int) -> WindowScores:
        length = self.window.length
        starts = window_starts(stream.segment, length, 1, first_end=first_row)
        scaled = self.scaler_.transform(stream.values.to_numpy(dtype=float))
        errors = self._scored_errors(stream.segment, scaled, starts)
        # Every row of a window shares its error: the event is bounded where the covering windows'
        # mean error reaches half its peak (anomaly.events), i.e. around the rows that moved unusually.
        step_errors = np.repeat(errors[:, None], length, axis=1)
        return WindowScores(starts=starts, window_errors=errors, step_errors=step_errors)

    def history_rows_needed(self, frequency: pd.Timedelta) -> int:
        """The window and the ``RECENT_WINDOWS`` lengths before it, whose movement is the recent usual."""
        return (RECENT_WINDOWS + 1) * self.window.length

    def _scored_errors(self, segment: np.ndarray, scaled: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """(n,) each window's movement against the larger of the fitted usual and its recent usual (the
        median movement of the windows starting ``RECENT_WINDOWS`` to one window length before it, where
        there are at least a window length of them): ``_log_ratios``."""
        length = self.window.length
        if len(starts) == 0:
            return np.empty(0)
        history = window_starts(segment, length, 1)
        history = history[(history >= starts[0] - RECENT_WINDOWS * length) & (history <= starts[-1])]
        movement = pd.DataFrame(_movement(gather_windows(scaled, history, length)), index=history)
        every_row = movement.reindex(np.arange(history[0], history[-1] + 1))
        recent = every_row.rolling((RECENT_WINDOWS - 1) * length + 1, min_periods=length).median()
        usual = np.fmax(self.usual_movement_, recent.reindex(starts - length).to_numpy())
        return _log_ratios(movement.loc[starts].to_numpy(), usual)

    def reconstruct(self, stream: PreparedStream, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each window with its movement rescaled to the usual one around the window's mean (what the
        detector expected it to look like), in the data's units, and its shape as the embedding."""
        self._check_fitted()
        windows = self._scaled_windows(stream, starts)
        ratio = self.usual_movement_ / _movement(windows)
        mean = windows.mean(axis=1, keepdims=True)
        expected = mean + (windows - mean) * ratio[:, None, :]
        return self.scaler_.inverse_transform(expected), self._embed(windows)

    def _record_core(self) -> dict[str, Any]:
        return {**super()._record_core(), "usual_movement": self.usual_movement_.tolist()}

    def _restore_core(self, record: dict[str, Any], directory: Path) -> None:
        self.usual_movement_ = np.asarray(record["usual_movement"], dtype=float)


def _log_ratios(movement: np.ndarray, usual: np.ndarray) -> np.ndarray:
    """(n,) the largest over channels of the log ratio of each window's movement (n, channels) to the
    usual one (channels,) or (n, channels), 0 where below it."""
    return np.maximum(np.log(movement / usual), 0.0).max(axis=1)


def _movement(windows: np.ndarray) -> np.ndarray:
    """(n, channels) the root mean square of each window's first differences, at least the floor; in
    float64 whatever the windows' type, so that a saved and reloaded usual movement scores the same."""
    if windows.shape[1] < 2:
        return np.full((len(windows), windows.shape[2]), MOVEMENT_FLOOR)
    steps = np.diff(windows.astype(float), axis=1)
    return np.maximum(np.sqrt((steps**2).mean(axis=1)), MOVEMENT_FLOOR)
