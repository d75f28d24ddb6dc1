"""The seasonal naive detector: how far a window lies from the same phase of the cycles before it.

A window that an LSTM autoencoder finds ordinary can still be wrong for its time of day: a flat stretch
where the daily rise should be, a daily jump that did not come. This detector learns the stream's
calendar cycle (a day or a week) from the fitted rows (``anomaly.scoring.seasonality``) and scores each
window by its distance to its best-aligned counterparts one to three cycles earlier (the median over
the cycles). A stream without such a cycle gets no scores at all (NaN, never an alarm), so the detector
only speaks where it has something to say; it is meant as a member of the ``ensemble`` detector beside
the LSTM. Its errors are causal: a window is compared with earlier rows only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from anomaly.data.types import PreparedStream
from anomaly.detectors.base import LabelIntervals
from anomaly.detectors.statistical import StatisticalDetector, window_shapes
from anomaly.results import WindowScores
from anomaly.scoring.seasonality import (
    CYCLES_COMPARED,
    CycleMatch,
    calendar_period,
    largest_shift,
    match_cycles,
)
from anomaly.thresholds import threshold_from_dict
from anomaly.windowing import gather_windows, window_starts


class SeasonalNaiveDetector(StatisticalDetector):
    """The window's distance to its counterparts one to three periods earlier
    (``anomaly.scoring.seasonality.match_cycles``), in standardised units; the threshold is learnt on
    the windows of the fitted rows.

    Fitted state besides ``Detector``'s: ``period_``, the cycle in grid steps, or None when the fitted
    rows show none (then every window's error is NaN and the threshold 0: nothing is flagged).
    """

    name = "seasonal_naive"

    def _fit_core(self, stream: PreparedStream, excluded: np.ndarray, labels: LabelIntervals | None) -> None:
        scaled, starts = self._scale_and_cut(stream, excluded)
        self.period_ = calendar_period(scaled[~excluded], stream.frequency)
        errors = self._match(stream, scaled, starts).window_errors
        if np.isfinite(errors).any():
            self._learn_threshold(stream, starts, errors, labels, starts)
        else:
            self.period_ = None
            self.threshold_method_ = threshold_from_dict(
                {"config": self.threshold.model_dump(mode="json"), "threshold": 0.0}
            )
            self.reference_errors_ = np.empty(0)
        self._complete_fit(stream, scaled, starts)

    def _score_core(self, stream: PreparedStream, first_row: int) -> WindowScores:
        starts = window_starts(stream.segment, self.window.length, 1, first_end=first_row)
        scaled = self.scaler_.transform(stream.values.to_numpy(dtype=float))
        match = self._match(stream, scaled, starts)
        return WindowScores(starts=starts, window_errors=match.window_errors, step_errors=match.step_errors)

    def history_rows_needed(self, frequency: pd.Timedelta) -> int:
        """The window and its earliest counterpart: ``CYCLES_COMPARED`` periods back, shifted by
        at most ``largest_shift`` (``match_cycles``); the window alone for a stream without a cycle."""
        if self.period_ is None:
            return self.window.length
        return self.window.length + CYCLES_COMPARED * self.period_ + largest_shift(self.period_)

    def reconstruct(self, stream: PreparedStream, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each window as its best-aligned counterpart in the earlier cycles has it (the window itself
        where there is none), in the data's units, and its shape as the embedding."""
        self._check_fitted()
        scaled = self.scaler_.transform(stream.values.to_numpy(dtype=float))
        windows = gather_windows(scaled, starts, self.window.length)
        expected = windows.copy()
        match = self._match(stream, scaled, starts)
        matched = match.matched_rows >= 0
        expected[matched] = scaled[match.matched_rows[matched]]
        return self.scaler_.inverse_transform(expected), window_shapes(windows)

    def _match(self, stream: PreparedStream, scaled: np.ndarray, starts: np.ndarray) -> CycleMatch:
        """The windows at ``starts`` against the earlier cycles; all NaN without a period."""
        length = self.window.length
        if self.period_ is None:
            return CycleMatch(
                window_errors=np.full(len(starts), np.nan),
                step_errors=np.zeros((len(starts), length)),
                matched_rows=np.full((len(starts), length), -1),
            )
        return match_cycles(scaled, stream.values.index, stream.frequency, self.period_, starts, length)

    def _record_core(self) -> dict[str, Any]:
        return {**super()._record_core(), "period": self.period_}

    def _restore_core(self, record: dict[str, Any], directory: Path) -> None:
        self.period_ = record["period"]
