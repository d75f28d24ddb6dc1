"""Merging flagged windows into anomaly events.

Flagged windows that overlap, touch, or are separated by fewer unflagged rows than a window's length
describe one happening, so they become one event with a start, an end, a peak and a severity: what an
analyst triages, what SQL users count, and one alarm. An error that dips under the threshold and comes
back within a window is the same anomaly still being seen, not a new one (the rule a pager follows).
"""

from __future__ import annotations

import numpy as np

from anomaly.results import Event


def merge_flagged_windows(
    starts: np.ndarray,
    window_errors: np.ndarray,
    threshold: float,
    length: int,
    segment: np.ndarray,
    step_errors: np.ndarray,
) -> list[Event]:
    """Group windows with error above ``threshold`` into events.

    ``starts`` (sorted) and ``window_errors`` describe the scored windows; two flagged windows join
    when fewer than ``length`` rows lie between them, and never across a gap in the data (``segment``
    gives each row's segment); ``step_errors`` is the
    per-row error used to place the peak.
    """
    flagged = np.flatnonzero(window_errors > threshold)
    if flagged.size == 0:
        return []
    flagged_starts = starts[flagged]
    new_group = np.ones(flagged.size, dtype=bool)
    new_group[1:] = (flagged_starts[1:] >= flagged_starts[:-1] + 2 * length) | (
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
    return events
