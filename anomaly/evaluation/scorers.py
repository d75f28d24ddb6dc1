"""What the evaluation protocols need from a detector: fit on a prepared series, then give each row an
error on the scale of a learnt threshold.

``causal=True`` asks for the error of the window that ends at each row, so that a row's error depends
only on rows up to it (the streaming protocol); ``causal=False`` allows what the pipeline stores, the
largest error of the windows covering the row.
"""

from __future__ import annotations

from typing import Protocol, Self

import numpy as np

from anomaly.config import PipelineConfig
from anomaly.data.types import PreparedStream
from anomaly.detection import analyse_stream
from anomaly.model.detector import LSTMAutoencoderDetector


class RowScorer(Protocol):
    """A detector as the protocols use it; ``threshold_`` is set by ``fit``."""

    threshold_: float

    def fit(self, stream: PreparedStream) -> Self:
        """Learn from every row of ``stream`` (no labels)."""
        ...

    def row_errors(self, stream: PreparedStream, *, first_row: int, causal: bool) -> np.ndarray:
        """Errors (n_rows,) of the rows of ``stream`` from ``first_row`` on; NaN where a row gets none."""
        ...


class LSTMRowScorer:
    """The pipeline's LSTM autoencoder detector behind the ``RowScorer`` interface."""

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config

    def fit(self, stream: PreparedStream) -> Self:
        """Fit a fresh detector from the configuration on ``stream``."""
        self.detector_ = LSTMAutoencoderDetector.from_config(self.config).fit(stream)
        self.threshold_ = self.detector_.threshold_
        return self

    def row_errors(self, stream: PreparedStream, *, first_row: int, causal: bool) -> np.ndarray:
        """Causal: the error of the window ending at each row; otherwise the pipeline's per-row error."""
        if not causal:
            return analyse_stream(
                self.detector_,
                stream,
                first_row=first_row,
                normal_sample_every=self.config.embeddings.normal_sample_every,
            ).row_errors
        scores = self.detector_.score(stream, first_row=first_row)
        errors = np.full(len(stream.values), np.nan)
        errors[scores.starts + self.config.window.length - 1] = scores.window_errors
        return errors


def lstm_scorer(config: PipelineConfig) -> RowScorer:
    """The default scorer factory of ``evaluate``."""
    return LSTMRowScorer(config)
