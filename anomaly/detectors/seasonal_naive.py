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
from typing import Any, Self

import numpy as np
import pandas as pd

from anomaly.config import PipelineConfig, ThresholdConfig, WindowConfig
from anomaly.data.types import PreparedStream
from anomaly.detectors.base import Detector, LabelIntervals
from anomaly.detectors.rolling_zscore import window_shapes
from anomaly.embeddings import EmbeddingSpace
from anomaly.errors import DataError
from anomaly.model.training_set import clear_of
from anomaly.results import WindowScores
from anomaly.scaling import ChannelScaler
from anomaly.scoring.seasonality import (
    CYCLES_COMPARED,
    SHIFT_FRACTION,
    CycleMatch,
    calendar_period,
    match_cycles,
)
from anomaly.thresholds import threshold_config, threshold_from_dict
from anomaly.windowing import gather_windows, window_starts


class SeasonalNaiveDetector(Detector):
    """The window's distance to its counterparts one to three periods earlier
    (``anomaly.scoring.seasonality.match_cycles``), in standardised units; the threshold is learnt on
    the windows of the fitted rows.

    Fitted state besides ``Detector``'s: ``period_``, the cycle in grid steps, or None when the fitted
    rows show none (then every window's error is NaN and the threshold 0: nothing is flagged).
    """

    name = "seasonal_naive"

    def __init__(
        self, *, window: WindowConfig, threshold: ThresholdConfig, max_clusters: int = 8, seed: int = 42
    ) -> None:
        super().__init__(window=window, threshold=threshold, max_clusters=max_clusters)
        self.seed = seed

    @classmethod
    def from_config(cls, config: PipelineConfig) -> Self:
        """A detector set up from the pipeline configuration (its window and threshold sections)."""
        return cls(
            window=config.window,
            threshold=config.threshold,
            max_clusters=config.embeddings.max_clusters,
            seed=config.model.seed,
        )

    def _fit_core(self, stream: PreparedStream, excluded: np.ndarray, labels: LabelIntervals | None) -> None:
        length = self.window.length
        values = stream.values.to_numpy(dtype=float)
        self.channels_ = stream.channels
        self.scaler_ = ChannelScaler.fit(values[~excluded])
        scaled = self.scaler_.transform(values)
        self.period_ = calendar_period(scaled[~excluded], stream.frequency)
        starts = clear_of(window_starts(stream.segment, length, 1), excluded, length)
        if len(starts) == 0:
            raise DataError(f"no complete window of {length} rows to fit on", stream=stream.name)
        errors = self._match(stream, scaled, starts).window_errors
        if np.isfinite(errors).any():
            self._learn_threshold(stream, starts, errors, labels, starts)
        else:
            self.period_ = None
            self.threshold_method_ = threshold_from_dict(
                {"config": self.threshold.model_dump(mode="json"), "threshold": 0.0}
            )
            self.reference_errors_ = np.empty(0)
        sample = starts[:: self.window.train_stride]
        self.embedding_space_ = EmbeddingSpace.fit(
            window_shapes(gather_windows(scaled, sample, length)),
            max_clusters=self.max_clusters,
            seed=self.seed,
        )
        self.n_training_windows_ = len(starts)
        self.val_loss_ = None
        self._record_training_span(stream)

    def _score_core(self, stream: PreparedStream, first_row: int) -> WindowScores:
        starts = window_starts(stream.segment, self.window.length, 1, first_end=first_row)
        scaled = self.scaler_.transform(stream.values.to_numpy(dtype=float))
        match = self._match(stream, scaled, starts)
        return WindowScores(starts=starts, window_errors=match.window_errors, step_errors=match.step_errors)

    def history_rows_needed(self, frequency: pd.Timedelta) -> int:
        """The window and its earliest counterpart: ``CYCLES_COMPARED`` periods back, shifted by
        ``SHIFT_FRACTION`` of one (``match_cycles``); the window alone for a stream without a cycle."""
        if self.period_ is None:
            return self.window.length
        largest_shift = max(1, round(SHIFT_FRACTION * self.period_))
        return self.window.length + CYCLES_COMPARED * self.period_ + largest_shift

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

    def _embed(self, windows: np.ndarray) -> np.ndarray:
        return window_shapes(windows)

    def _record_core(self) -> dict[str, Any]:
        return {"seed": self.seed, "period": self.period_}

    @classmethod
    def _unfitted_from_record(cls, record: dict[str, Any]) -> Self:
        return cls(
            window=WindowConfig(**record["window"]),
            threshold=threshold_config(record["threshold_config"]),
            max_clusters=record["max_clusters"],
            seed=record["seed"],
        )

    def _restore_core(self, record: dict[str, Any], directory: Path) -> None:
        self.period_ = record["period"]
