"""Seeded synthetic sensor streams with labelled anomalies of known intervals.

The benchmark must run anywhere (CI has no datasets), so it makes its own data: a daily cycle with a
slower weekly swing and noise, into which a spike, a level shift and a noise burst are injected at
rows fixed by the seed. The labels are the injected intervals, padded a little as NAB pads its
windows, so event F1 on them means the same as on NAB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly.data.labels import LabelWindows
from anomaly.data.types import PreparationReport, PreparedStream

STEP = pd.Timedelta("5min")
START = pd.Timestamp("2026-01-01", tz="UTC")
PERIOD = 288  # one day of 5-minute steps
LABEL_PADDING = 12  # rows added on each side of an injected anomaly, as NAB widens its windows


@dataclass(frozen=True)
class LabelledStream:
    """A prepared stream and the labelled windows of its injected anomalies."""

    stream: PreparedStream
    labels: LabelWindows


def synthetic_stream(name: str, n_rows: int, *, seed: int, anomalies: bool = True) -> LabelledStream:
    """``n_rows`` rows of one channel; with ``anomalies``, three injected in the last 60% of the rows
    (the first 40% stay clean, like the probation period NAB leaves before its first label)."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n_rows)
    phase = rng.uniform(0, 2 * np.pi)
    values = (
        np.sin(2 * np.pi * steps / PERIOD + phase)
        + 0.3 * np.sin(2 * np.pi * steps / (7 * PERIOD))
        + rng.normal(0, 0.08, n_rows)
    )
    intervals: list[tuple[int, int]] = []
    if anomalies:
        spike, shift, burst = np.sort(rng.choice(np.arange(int(0.45 * n_rows), int(0.95 * n_rows)), 3))
        span = max(n_rows // 100, 4)
        values[spike : spike + 2] += 4.0
        values[shift : shift + 3 * span] += 1.5
        values[burst : burst + span] += rng.normal(0, 0.8, len(values[burst : burst + span]))
        intervals = [(spike, spike + 1), (shift, shift + 3 * span - 1), (burst, burst + span - 1)]
    index = pd.date_range(START, periods=n_rows, freq=STEP)
    stream = PreparedStream(
        name=name,
        values=pd.DataFrame({"value": values}, index=index),
        segment=np.zeros(n_rows, dtype=np.int64),
        frequency=STEP,
        report=PreparationReport(input_rows=n_rows),
    )
    labels = [
        (index[max(first - LABEL_PADDING, 0)], index[min(last + LABEL_PADDING, n_rows - 1)])
        for first, last in intervals
    ]
    return LabelledStream(stream=stream, labels={name: labels})
