"""The rolling z-score detector: how far a window's last value lies from the rows before it, in their
standard deviations.

A baseline that takes ten lines and no training, run through the same windows, threshold methods,
decision path and storage as the LSTM autoencoder, so that the model always has something simple to
beat, on the same data and under the same rules. Its errors are causal by construction: a window's
error depends on its own rows only, and it is given to the window's last row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from anomaly.config import PipelineConfig, ThresholdConfig, WindowConfig
from anomaly.data.types import PreparedStream
from anomaly.detectors.base import Detector, LabelIntervals
from anomaly.embeddings import EmbeddingSpace
from anomaly.errors import DataError
from anomaly.model.training_set import clear_of
from anomaly.results import WindowScores
from anomaly.scaling import ChannelScaler
from anomaly.thresholds import threshold_config
from anomaly.windowing import gather_windows, window_starts

SPREAD_FLOOR = 1e-3
"""Smallest standard deviation (in the channel's standardised units) a trailing stretch is given, so a
flat stretch turns a real step into a large but finite z-score instead of an infinite one."""


class RollingZScoreDetector(Detector):
    """``max over channels |x_last - mean(x_rest)| / std(x_rest)`` per window, where ``x_rest`` are the
    window's first ``length - 1`` rows; the threshold is learnt on the windows of the fitted rows."""

    name = "rolling_zscore"

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
        starts = clear_of(window_starts(stream.segment, length, 1), excluded, length)
        if len(starts) == 0:
            raise DataError(f"no complete window of {length} rows to fit on", stream=stream.name)
        errors = _z_scores(gather_windows(scaled, starts, length))
        self._learn_threshold(stream, starts, errors, labels, starts)
        sample = starts[:: self.window.train_stride]
        self.embedding_space_ = EmbeddingSpace.fit(
            self._embed(gather_windows(scaled, sample, length)),
            max_clusters=self.max_clusters,
            seed=self.seed,
        )
        self.n_training_windows_ = len(starts)
        self.val_loss_ = None
        self._record_training_span(stream)

    def _score_core(self, stream: PreparedStream, first_row: int) -> WindowScores:
        length = self.window.length
        starts = window_starts(stream.segment, length, 1, first_end=first_row)
        errors = _z_scores(self._scaled_windows(stream, starts))
        step_errors = np.zeros((len(starts), length))
        step_errors[:, -1] = errors
        return WindowScores(starts=starts, window_errors=errors, step_errors=step_errors)

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

    def _embed(self, windows: np.ndarray) -> np.ndarray:
        return window_shapes(windows)

    def _record_core(self) -> dict[str, Any]:
        return {"seed": self.seed}

    @classmethod
    def _unfitted_from_record(cls, record: dict[str, Any]) -> Self:
        return cls(
            window=WindowConfig(**record["window"]),
            threshold=threshold_config(record["threshold_config"]),
            max_clusters=record["max_clusters"],
            seed=record["seed"],
        )

    def _restore_core(self, record: dict[str, Any], directory: Path) -> None:
        """Nothing beyond the common state: the detector has no weights."""


def window_shapes(windows: np.ndarray) -> np.ndarray:
    """Each window's shape: its values (n, length, channels) z-normalised per window and channel,
    flattened to (n, length * channels), what a window looks like whatever its level and scale; the
    embedding of detectors without an encoder."""
    centred = windows - windows.mean(axis=1, keepdims=True)
    spread = np.maximum(windows.std(axis=1, keepdims=True), SPREAD_FLOOR)
    return (centred / spread).reshape(len(windows), windows.shape[1] * windows.shape[2])


def _z_scores(windows: np.ndarray) -> np.ndarray:
    """(n,) the largest over channels of the last row's z-score against the rows before it."""
    if len(windows) == 0:
        return np.empty(0)
    rest, last = windows[:, :-1], windows[:, -1]
    spread = np.maximum(rest.std(axis=1, ddof=1), SPREAD_FLOOR)
    return (np.abs(last - rest.mean(axis=1)) / spread).max(axis=1)
