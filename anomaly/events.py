"""Merging flagged windows into anomaly events.

Overlapping or touching flagged windows describe one happening, so they become one event with a
start, an end, a peak and a severity: what an analyst triages and what SQL users count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anomaly.threshold_methods.dynamic import prune_sequences


@dataclass(frozen=True)
class Event:
    """One anomaly event in row coordinates of the prepared series.

    ``first_row``/``last_row`` bound the union of its flagged windows; ``peak_row`` is where the
    per-timestep error is largest; ``peak_error`` is the largest window error (the threshold's
    scale), so ``severity = peak_error / threshold`` is at least 1. ``window_positions`` index the
    scored windows that belong to the event.
    """

    first_row: int
    last_row: int
    peak_row: int
    peak_error: float
    severity: float
    window_positions: np.ndarray

    @property
    def n_windows(self) -> int:
        """How many flagged windows the event merges."""
        return len(self.window_positions)


def merge_flagged_windows(
    starts: np.ndarray,
    window_errors: np.ndarray,
    threshold: float,
    length: int,
    segment: np.ndarray,
    step_errors: np.ndarray,
    *,
    min_decrease: float | None = None,
    max_normal_error: float = 0.0,
) -> list[Event]:
    """Group windows with error above ``threshold`` into events.

    ``starts`` (sorted) and ``window_errors`` describe the scored windows; ``segment`` gives each
    row's segment so that windows on both sides of a gap are never joined; ``step_errors`` is the
    per-row error used to place the peak.

    With ``min_decrease`` the events are pruned as telemanom does after its dynamic threshold
    (``anomaly.threshold_methods.dynamic.prune_sequences``): events whose peak is not clearly above
    the next smaller one are dropped, the smallest peak being compared with the largest normal error,
    i.e. the larger of ``max_normal_error`` (known from fitting) and the largest unflagged error here.
    """
    flagged = np.flatnonzero(window_errors > threshold)
    if flagged.size == 0:
        return []
    flagged_starts = starts[flagged]
    new_group = np.ones(flagged.size, dtype=bool)
    new_group[1:] = (flagged_starts[1:] > flagged_starts[:-1] + length) | (
        segment[flagged_starts[1:]] != segment[flagged_starts[:-1]]
    )
    events = []
    for group in np.split(flagged, np.flatnonzero(new_group)[1:]):
        first_row = int(starts[group[0]])
        last_row = int(starts[group[-1]] + length - 1)
        span_errors = step_errors[first_row : last_row + 1]
        peak_row = first_row + int(np.nanargmax(span_errors)) if np.isfinite(span_errors).any() else first_row
        peak_error = float(window_errors[group].max())
        events.append(
            Event(
                first_row=first_row,
                last_row=last_row,
                peak_row=peak_row,
                peak_error=peak_error,
                severity=peak_error / threshold if threshold > 0 else float("inf"),
                window_positions=group,
            )
        )
    if min_decrease is None:
        return events
    unflagged_max = float(window_errors[window_errors <= threshold].max(initial=0.0))
    keep = prune_sequences(
        np.array([event.peak_error for event in events]), max(max_normal_error, unflagged_max), min_decrease
    )
    return [event for event, kept in zip(events, keep, strict=True) if kept]
