"""Our scoring throughput, and how much of the machine's matmul rate it turns into model work."""

from __future__ import annotations

import time

from anomaly.detectors.lstm_autoencoder import LSTMAutoencoderDetector
from perf.flops import lstm_autoencoder_flops
from perf.streams import LabelledStream


def score_windows_per_s(detector: LSTMAutoencoderDetector, data: LabelledStream, repeats: int = 3) -> float:
    """Best-of-``repeats`` stride-1 windows per second of ``detector.score`` over the whole stream
    (scaling, windowing, the network and the errors: what a scheduled run pays per window)."""
    detector.score_samples(data.stream)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        scores = detector.score_samples(data.stream)
        best = min(best, time.perf_counter() - started)
    return len(scores.starts) / best


def flops_per_window(detector: LSTMAutoencoderDetector) -> int:
    """Matmul FLOPs of one window through ``detector``'s network (see ``perf.flops``)."""
    model = detector.model
    decoder_steps = {
        "reconstruction": (detector.window.length,),
        "prediction": (model.horizon,),
        "composite": (detector.window.length, model.horizon),
    }[model.variant]
    return lstm_autoencoder_flops(
        window=detector.window.length,
        channels=len(detector.channels_),
        units=model.units,
        depth=model.depth,
        decoder_steps=decoder_steps,
    )
