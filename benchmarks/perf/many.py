"""Many streams at once (``anomaly.model.fleet``) against one detector fit after another.

Both sides use the same per-stream configuration and end with fully fitted detectors (threshold and
embedding space included); the fleet's per-stream validation losses are reported beside the
sequential ones, so a speed-up bought with worse models would show.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from anomaly.config import PipelineConfig
from anomaly.detectors.lstm_autoencoder import LSTMAutoencoderDetector
from perf.fleet import fit_detectors
from perf.streams import synthetic_stream


@dataclass(frozen=True)
class ManyStreams:
    """Wall seconds of both paths and the median ratio of fleet to sequential validation loss."""

    sequential_seconds: float
    fleet_seconds: float
    val_loss_ratio: float


def measure(n_streams: int, n_rows: int, config: PipelineConfig) -> ManyStreams:
    """Train ``n_streams`` synthetic streams of ``n_rows`` both ways with ``config``."""
    streams = [synthetic_stream(f"s{k}", n_rows, seed=100 + k).stream for k in range(n_streams)]
    started = time.perf_counter()
    sequential = [LSTMAutoencoderDetector.from_config(config).fit(stream) for stream in streams]
    sequential_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fleet = fit_detectors(streams, config)
    fleet_seconds = time.perf_counter() - started
    ratios = [f.val_loss_ / s.val_loss_ for f, s in zip(fleet, sequential, strict=True)]
    return ManyStreams(sequential_seconds, fleet_seconds, float(np.median(ratios)))
