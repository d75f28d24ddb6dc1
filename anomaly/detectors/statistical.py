"""What the detectors without weights share: a seed, window shapes as embeddings, and the fitting steps
around their own statistic.

The rolling z-score and seasonal naive detectors learn no network: each fits a scaler, scores the
windows clear of excluded rows with its statistic, learns the threshold on them, and embeds windows by
their shape. ``StatisticalDetector`` holds those common steps so that each subclass contains only its
statistic (darts' "base classes hold the checks, subclasses the algorithm").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import numpy as np

from anomaly.config import PipelineConfig, ThresholdConfig, WindowConfig
from anomaly.data.types import PreparedStream
from anomaly.detectors.base import Detector
from anomaly.embeddings import EmbeddingSpace
from anomaly.errors import DataError
from anomaly.model.training_set import clear_of
from anomaly.scaling import ChannelScaler
from anomaly.thresholds import threshold_config
from anomaly.windowing import gather_windows, window_starts

SPREAD_FLOOR = 1e-3
"""Smallest standard deviation (in the channel's standardised units) a stretch is given, so a flat
stretch turns a real step into a large but finite z-score instead of an infinite one, and a flat window
into a finite shape."""


class StatisticalDetector(Detector):
    """A detector without weights: set up from the window and threshold sections, embedding windows by
    their shape, its only own parameter the clustering ``seed``."""

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

    def _scale_and_cut(self, stream: PreparedStream, excluded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fit ``channels_`` and ``scaler_`` on the rows not excluded; the scaled values (n_rows,
        channels) and the starts of the stride-1 windows clear of excluded rows (a DataError if none)."""
        length = self.window.length
        values = stream.values.to_numpy(dtype=float)
        self.channels_ = stream.channels
        self.scaler_ = ChannelScaler.fit(values[~excluded])
        starts = clear_of(window_starts(stream.segment, length, 1), excluded, length)
        if len(starts) == 0:
            raise DataError(f"no complete window of {length} rows to fit on", stream=stream.name)
        return self.scaler_.transform(values), starts

    def _complete_fit(self, stream: PreparedStream, scaled: np.ndarray, starts: np.ndarray) -> None:
        """The state every weightless detector learns last: the embedding space of every
        ``train_stride``-th fitted window, the window count and the training span."""
        sample = starts[:: self.window.train_stride]
        self.embedding_space_ = EmbeddingSpace.fit(
            self._embed(gather_windows(scaled, sample, self.window.length)),
            max_clusters=self.max_clusters,
            seed=self.seed,
        )
        self.n_training_windows_ = len(starts)
        self.val_loss_ = None
        self._record_training_span(stream)

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
