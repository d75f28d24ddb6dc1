"""Train time and event F1 on one labelled stream: the article's model against our detector.

Both are timed from nothing to their final model (ours includes its threshold and embedding
space, the reference only its ``fit``), and both flag with the same rule (``perf.flags``): our
detector with its learnt threshold, the reference with the default threshold method fitted on its own
window errors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from anomaly.config import PipelineConfig
from anomaly.detectors.lstm_autoencoder import LSTMAutoencoderDetector
from anomaly.thresholds import threshold_config, threshold_for
from anomaly.windowing import gather_windows, window_starts
from perf import reference
from perf.flags import event_f1
from perf.streams import LabelledStream


@dataclass(frozen=True)
class TrainResult:
    """Wall seconds to a final model, and its event F1 on the stream's labels."""

    seconds: float
    f1: float


def train_reference(data: LabelledStream, *, epochs: int, seed: int = 42) -> TrainResult:
    """The article's model on every stride-1 window, scaled by the whole stream as it has no split."""
    stream = data.stream
    values = stream.values.to_numpy(dtype=float)
    scaled = (values - values.mean(axis=0)) / values.std(axis=0)
    starts = window_starts(stream.segment, reference.WINDOW, 1)
    windows = gather_windows(scaled, starts, reference.WINDOW)
    model, seconds = reference.train(windows, epochs=epochs, seed=seed)
    errors = reference.window_errors(model, windows)
    threshold = threshold_for(threshold_config()).fit(errors).threshold_
    return TrainResult(seconds, event_f1(stream, data.labels, starts, errors, threshold, reference.WINDOW))


def train_ours(data: LabelledStream, config: PipelineConfig) -> tuple[TrainResult, LSTMAutoencoderDetector]:
    """Our detector from ``config``, fitted and scored on the stream."""
    started = time.perf_counter()
    detector = LSTMAutoencoderDetector.from_config(config).fit(data.stream)
    seconds = time.perf_counter() - started
    scores = detector.score_samples(data.stream)
    f1 = event_f1(
        data.stream,
        data.labels,
        scores.starts,
        scores.window_errors,
        detector.threshold_,
        config.window.length,
    )
    return TrainResult(seconds, f1), detector
