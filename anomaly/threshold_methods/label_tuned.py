"""A threshold tuned on labelled anomalies in the fitted rows, for streams where someone marked some.

Scored at the event level without point adjustment (as ``anomaly.metrics`` scores detectors): a
labelled interval is found when a flagged window overlaps it, and each run of adjacent flagged
windows that overlaps no labelled window is one false positive. So the tuned threshold is the one
that finds the labelled events while raising the fewest false alarms, not the one that flags the
most anomalous points.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anomaly.data.types import PreparedStream
from anomaly.labels import load_labels
from anomaly.metrics import EventScores


def label_tuned_threshold(errors: np.ndarray, labelled: np.ndarray, n_candidates: int) -> float | None:
    """The candidate threshold with the best event-level F1; None when the labels give no guidance.

    ``errors`` (n,) are window errors in time order, ``labelled`` (n,) bool marks the windows that
    overlap a labelled interval. Candidates are ``n_candidates`` quantiles of the errors from the
    median up, denser towards the maximum where anomalies live. Equal F1 over a range of candidates
    is resolved by the middle of the lowest such range, to keep a margin on both sides. None when no
    window is labelled or no candidate finds a labelled interval.
    """
    if not labelled.any():
        return None
    levels = 1 - np.geomspace(0.5, 0.5 / errors.size, n_candidates)
    candidates = np.unique(np.quantile(errors, levels))
    f1 = np.array([event_f1(errors > candidate, labelled) for candidate in candidates])
    if f1.max() <= 0:
        return None
    best = np.flatnonzero(f1 == f1.max())
    breaks = np.flatnonzero(np.diff(best) > 1)
    lowest_range = best[: breaks[0] + 1] if breaks.size else best
    return float(candidates[lowest_range[len(lowest_range) // 2]])


def event_f1(flagged: np.ndarray, labelled: np.ndarray) -> float:
    """Event-level F1 of ``flagged`` windows against ``labelled`` ones (both (n,) bool, time order)."""
    flagged_starts, flagged_ends = _runs(flagged)
    labelled_starts, labelled_ends = _runs(labelled)
    labelled_before = np.concatenate(([0], np.cumsum(labelled)))
    flagged_before = np.concatenate(([0], np.cumsum(flagged)))
    true_events = int(np.count_nonzero(labelled_before[flagged_ends + 1] > labelled_before[flagged_starts]))
    found = int(np.count_nonzero(flagged_before[labelled_ends + 1] > flagged_before[labelled_starts]))
    return EventScores(true_events, len(flagged_starts) - true_events, found, len(labelled_starts)).f1


def labelled_windows(labels: Path, stream: PreparedStream, starts: np.ndarray, length: int) -> np.ndarray:
    """(n_windows,) bool: which windows of ``length`` rows at ``starts`` overlap one of the stream's
    labelled intervals in the ``labels`` file. Only intervals reaching into these windows count, so
    labels of later data never leak into the calibration."""
    timestamps = stream.values.index
    first, last = timestamps[starts], timestamps[starts + length - 1]
    labelled = np.zeros(len(starts), dtype=bool)
    for interval_start, interval_end in load_labels(labels).get(stream.name, []):
        labelled |= np.asarray((first <= interval_end) & (last >= interval_start))
    return labelled


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last positions of each run of True in ``mask``."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
