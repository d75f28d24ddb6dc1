"""Event F1 of window errors under one rule for every model: windows above the threshold flag the
rows they cover, runs of flagged rows are events, scored against the labelled windows."""

from __future__ import annotations

import numpy as np

from anomaly.data.labels import LabelWindows
from anomaly.data.types import PreparedStream
from anomaly.evaluation.metrics import alarm_intervals, event_scores


def event_f1(
    stream: PreparedStream,
    labels: LabelWindows,
    starts: np.ndarray,
    window_errors: np.ndarray,
    threshold: float,
    length: int,
) -> float:
    """Event F1 of the windows at ``starts`` whose error is above ``threshold``."""
    covered = np.zeros(len(stream.values) + 1, dtype=int)
    flagged = starts[window_errors > threshold]
    np.add.at(covered, flagged, 1)
    np.add.at(covered, flagged + length, -1)
    alarms = np.cumsum(covered)[:-1] > 0
    detected = {stream.name: alarm_intervals(stream.values.index, alarms)}
    return event_scores(detected, labels).f1
