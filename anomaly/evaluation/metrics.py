"""Event-level detection quality, without point adjustment.

A labelled window counts as found when a detected event overlaps it; a detected event that overlaps
no labelled window is a false positive. Counting events (not points) keeps a long anomaly from
outweighing many short ones, and never crediting points that were not flagged keeps it honest.
``pr_auc`` adds a threshold-free, point-wise view of the ranking score (``vus`` a range-based one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly.data.labels import LabelWindows

Interval = tuple[pd.Timestamp, pd.Timestamp]


@dataclass(frozen=True)
class EventScores:
    """Event counts and the precision, recall and F1 derived from them."""

    true_events: int
    false_events: int
    found_labels: int
    total_labels: int

    @property
    def precision(self) -> float:
        """Share of detected events that overlap a labelled window (1.0 when nothing was detected)."""
        detected = self.true_events + self.false_events
        return self.true_events / detected if detected else 1.0

    @property
    def recall(self) -> float:
        """Share of labelled windows overlapped by a detected event (1.0 when there are none)."""
        return self.found_labels / self.total_labels if self.total_labels else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def _overlaps(a: Interval, b: Interval) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def event_scores(detected: dict[str, list[Interval]], labels: LabelWindows) -> EventScores:
    """Score detected events per stream against labelled windows (streams missing from either side
    count as having none)."""
    true_events = false_events = found = total = 0
    for stream in sorted(set(detected) | set(labels)):
        events, windows = detected.get(stream, []), labels.get(stream, [])
        hits = [any(_overlaps(event, window) for window in windows) for event in events]
        true_events += sum(hits)
        false_events += len(hits) - sum(hits)
        found += sum(any(_overlaps(event, window) for event in events) for window in windows)
        total += len(windows)
    return EventScores(true_events, false_events, found, total)


def alarm_intervals(timestamps: pd.DatetimeIndex, alarms: np.ndarray) -> list[Interval]:
    """Runs of consecutive alarmed rows (rows in time order) as (first, last) timestamp intervals.

    Adjacent alarms are one event, so a detector is not credited or blamed once per row.
    """
    flags = np.concatenate([[False], np.asarray(alarms, dtype=bool), [False]])
    edges = np.diff(flags.astype(np.int8))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(timestamps[start], timestamps[end]) for start, end in zip(starts, ends, strict=True)]


def nan_as_lowest(scores: np.ndarray) -> np.ndarray:
    """``scores`` with NaN (a row without a score) replaced by the lowest score (0 where none is finite):
    such a row ranks with the lowest-scored rows, as the protocols' unscored rows (score 0) do."""
    scores = np.asarray(scores, dtype=float)
    finite = scores[np.isfinite(scores)]
    return np.where(np.isnan(scores), finite.min() if len(finite) else 0.0, scores)


def pr_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Average precision of ranking rows by ``scores`` against 0/1 ``labels``: the area under the
    point-wise precision-recall curve, independent of any threshold; None without a labelled row.
    Rows without a score rank lowest (``nan_as_lowest``)."""
    from sklearn.metrics import average_precision_score

    labels = np.asarray(labels)
    if not labels.any():
        return None
    return float(average_precision_score(labels, nan_as_lowest(scores)))
