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
``MIN_FLAGGED_WINDOWS``-th flagged window, that many rows minus one after the first crossing. A run that
scores only new rows (a scheduled run, a streaming chunk) keeps a shorter group at its first window: it
may continue one the run before saw begin, and a run every few rows never sees six at once. Six was
chosen over one (every group an event) and three on all four development families (docs/quality.md).
Merging has one exception: where the error returns after at least a window length under the
threshold and rises above ``ESCALATION_FACTOR`` times the event's peak so far, something new and worse
is happening (a second fault while the first is still being seen), and a merged event would hide it
behind the first one's alarm; it starts a new event, with its own alarm, at the first window that
rises that high (or the last needed window, if later). Three times was chosen over no split and two
times on all four development families (docs/quality.md).
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

ESCALATION_FACTOR = 3.0
"""Within merged windows, error that returns after a window length under the threshold at more than
this many times everything before it starts a new event."""

LOCALISE_FRACTION = 0.5
"""Share of an event's peak step error a row must reach to lie inside the event."""


def merge_flagged_windows(
    starts: np.ndarray,
    window_errors: np.ndarray,
    threshold: float,
    length: int,
    segment: np.ndarray,
    step_errors: np.ndarray,
    *,
    min_windows: int,
    scored_before: bool = False,
) -> list[Event]:
    """Group windows with error above ``threshold`` into events, each bounded by its hot rows.

    ``starts`` (sorted) and ``window_errors`` describe the scored windows; two flagged windows join
    when their starts are fewer than ``MERGE_GAP_WINDOWS * length`` rows apart, and never across a gap
    in the data (``segment`` gives each row's segment), unless the error escalates (see the module);
    a group of fewer than ``min_windows`` flagged windows (the detector's ``windows_to_confirm``) is
    dropped, unless ``scored_before`` (an earlier run scored the windows before ``starts[0]``) and it
    begins at the first window: it may be the rest of a group that run saw the start of, and a
    scheduled run every few rows would otherwise never see enough windows of an anomaly at once;
    ``step_errors`` is the
    per-row error used to place the peak and to bound the event: its first and last rows are the first
    and last of its windows' rows whose step error is at least ``LOCALISE_FRACTION`` of the peak's.
    """
    flagged = np.flatnonzero(window_errors > threshold)
    if flagged.size == 0:
        return []
    flagged_starts = starts[flagged]
    new_group = np.ones(flagged.size, dtype=bool)
    new_group[1:] = (flagged_starts[1:] >= flagged_starts[:-1] + MERGE_GAP_WINDOWS * length) | (
        segment[flagged_starts[1:]] != segment[flagged_starts[:-1]]
    )
    events = []
    parts = (
        part
        for group in np.split(flagged, np.flatnonzero(new_group)[1:])
        for part in _split_at_escalations(group, starts, window_errors, length, min_windows)
    )
    for group, confirming in parts:
        if group.size < min_windows and not (scored_before and group[0] == 0):
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
                confirming_position=confirming,
            )
        )
    return events


def _split_at_escalations(
    group: np.ndarray, starts: np.ndarray, window_errors: np.ndarray, length: int, needed: int
) -> list[tuple[np.ndarray, int]]:
    """``group`` (positions of merged flagged windows) cut where its error escalates, each part with
    the position of the window that confirms it: for the first, its ``needed``-th window; for a part
    that escalation starts, the later of its first window above ``ESCALATION_FACTOR`` times the peak
    before it and its ``needed``-th window. Runs are the stretches whose flagged starts lie at most a
    window length apart; a run shorter than ``needed`` never starts a part."""
    runs = np.split(group, np.flatnonzero(np.diff(starts[group]) > length) + 1)
    parts = [list(runs[0])]
    confirming = [-1]
    peak = float(window_errors[runs[0]].max())
    for run in runs[1:]:
        escalating = run[window_errors[run] > ESCALATION_FACTOR * peak]
        if run.size >= needed and escalating.size:
            parts.append(list(run))
            confirming.append(int(max(escalating[0], run[max(needed, 1) - 1])))
        else:
            parts[-1].extend(run)
        peak = max(peak, float(window_errors[run].max()))
    first = np.asarray(parts[0])
    confirming[0] = int(first[min(max(needed, 1), first.size) - 1])
    return [(np.asarray(part), at) for part, at in zip(parts, confirming, strict=True)]
