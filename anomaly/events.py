"""Merging flagged windows into anomaly events.

Flagged windows whose starts lie fewer than ``MERGE_GAP_WINDOWS`` window lengths apart describe one
happening, so they become one event with a start, an end, a peak and a severity: what an analyst
triages, what SQL users count, and one alarm. An error that dips under the threshold and comes back a
few windows later is the same anomaly still being seen, not a new one (the rule a pager follows): a
drift or a failing sensor comes and goes for a while, and each return would otherwise raise a fresh
alarm that NAB and event-level precision charge as a false one. Six lengths was chosen over two, four
and ten on all four development families (docs/quality.md).
A group of fewer than ``MIN_FLAGGED_WINDOWS`` flagged windows is not an event: with stride-1 windows
an anomaly of even one row lies in a window length of windows, so a few windows crossing the
threshold by a hair are the threshold's own noise (on the development families most such groups were
false alarms). That holds for detectors whose window error describes the whole window; one whose error
is its last row's alone (the rolling z-score) flags a window per anomalous row, and needs one
(``Detector.windows_to_confirm``). A detector seeing rows as they come confirms an event, and alarms, at its
``MIN_FLAGGED_WINDOWS``-th flagged window, that many rows minus one after the first crossing. Six was
chosen over one (every group an event) and three on all four development families (docs/quality.md).
An event's start and end are where the anomaly is, not where its windows are: a window of 48 rows is
flagged for a spike of three, so the event is cut to the rows whose per-step error reaches half of its
peak (the full width at half maximum), which is what SQL on time ranges and overlap-based metrics see.
"""

from __future__ import annotations

import numpy as np

from anomaly.results import Event

MERGE_GAP_WINDOWS = 6
"""Flagged windows whose starts are fewer than this many window lengths apart join one event."""

MIN_FLAGGED_WINDOWS = 6
"""Flagged windows a group needs to be an event; its alarm comes with the last of them."""

LOCALISE_FRACTION = 0.5
"""Share of an event's peak step error a row must reach to lie inside the event."""


def merge_flagged_windows(
    starts: np.ndarray,
    window_errors: np.ndarray,
    threshold: float,
    length: int,
    segment: np.ndarray,
    step_errors: np.ndarray,
    min_windows: int | None = None,
) -> list[Event]:
    """Group windows with error above ``threshold`` into events, each bounded by its hot rows.

    ``starts`` (sorted) and ``window_errors`` describe the scored windows; two flagged windows join
    when their starts are fewer than ``MERGE_GAP_WINDOWS * length`` rows apart, and never across a gap
    in the data (``segment`` gives each row's segment), and a group of fewer than ``min_windows``
    flagged windows (default ``MIN_FLAGGED_WINDOWS``) is dropped; ``step_errors`` is the
    per-row error used to place the peak and to bound the event: its first and last rows are the first
    and last of its windows' rows whose step error is at least ``LOCALISE_FRACTION`` of the peak's.
    """
    needed = MIN_FLAGGED_WINDOWS if min_windows is None else min_windows
    flagged = np.flatnonzero(window_errors > threshold)
    if flagged.size == 0:
        return []
    flagged_starts = starts[flagged]
    new_group = np.ones(flagged.size, dtype=bool)
    new_group[1:] = (flagged_starts[1:] >= flagged_starts[:-1] + MERGE_GAP_WINDOWS * length) | (
        segment[flagged_starts[1:]] != segment[flagged_starts[:-1]]
    )
    events = []
    for group in np.split(flagged, np.flatnonzero(new_group)[1:]):
        if group.size < needed:
            continue
        first_row = int(starts[group[0]])
        last_row = int(starts[group[-1]] + length - 1)
        span_errors = step_errors[first_row : last_row + 1]
        if np.isfinite(span_errors).any() and np.nanmax(span_errors) > 0:
            peak = int(np.nanargmax(span_errors))
            hot = np.flatnonzero(span_errors >= LOCALISE_FRACTION * span_errors[peak])
            peak_row = first_row + peak
            first_row, last_row = first_row + int(hot[0]), first_row + int(hot[-1])
        else:
            peak_row = first_row
        peak_error = float(window_errors[group].max())
        events.append(
            Event(
                first_row=first_row,
                last_row=last_row,
                peak_row=peak_row,
                peak_error=peak_error,
                severity=peak_error / threshold if threshold > 0 else float("inf"),
                window_positions=group,
                confirming_position=int(group[max(needed, 1) - 1]),
            )
        )
    return events
