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
Events are decided run by run, but an anomaly does not end where a run does: windows flagged within
the merge gap of the open event, the latest one earlier runs of the same model version decided
(``OpenEventRows``), continue it under the same rules (a return far above its peak is still a new
event) and raise no second alarm, whatever their number.
An event's start and end are where the anomaly is, not where its windows are: a window of 48 rows is
flagged for a spike of three, so the event is cut to the rows whose per-step error reaches half of its
peak (the full width at half maximum), which is what SQL on time ranges and overlap-based metrics see.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class OpenEventRows:
    """The open event (``anomaly.results.OpenEvent``) in the rows and error scale of this run:
    ``last_start``, the row where its last flagged window starts (negative before the first row read),
    and ``peak_error``, its peak on this threshold's scale."""

    last_start: int
    peak_error: float


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
    open_event: OpenEventRows | None = None,
) -> list[Event]:
    """Group windows with error above ``threshold`` into events, each bounded by its hot rows.

    ``starts`` (sorted) and ``window_errors`` describe the scored windows; two flagged windows join
    when their starts are fewer than ``MERGE_GAP_WINDOWS * length`` rows apart, and never across a gap
    in the data (``segment`` gives each row's segment), unless the error escalates (see the module);
    a group of fewer than ``min_windows`` flagged windows (the detector's ``windows_to_confirm``) is
    dropped, unless ``scored_before`` (an earlier run scored the windows before ``starts[0]``) and it
    begins at the first window: it may be the rest of a group that run saw the start of, and a
    scheduled run every few rows would otherwise never see enough windows of an anomaly at once;
    with ``open_event``, a first group within the merge gap of its last window (in one segment) is
    its continuation, kept whatever its size and marked ``continues``, unless its error escalates.
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
    groups = np.split(flagged, np.flatnonzero(new_group)[1:])
    continued = open_event if _continues(open_event, int(flagged_starts[0]), length, segment) else None
    events = []
    parts = (
        part
        for index, group in enumerate(groups)
        for part in _split_at_escalations(
            group, starts, window_errors, length, min_windows, continued if index == 0 else None
        )
    )
    for group, confirming, continues in parts:
        if group.size < min_windows and not continues and not (scored_before and group[0] == 0):
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
                continues=continues,
            )
        )
    return events


def _continues(open_event: OpenEventRows | None, first_start: int, length: int, segment: np.ndarray) -> bool:
    """Whether a group whose first flagged window starts at ``first_start`` lies within the merge gap
    of ``open_event``'s last window, with no gap in the data between (rows before the first read are
    taken to share its segment)."""
    if open_event is None or first_start >= open_event.last_start + MERGE_GAP_WINDOWS * length:
        return False
    return bool(segment[first_start] == segment[max(open_event.last_start, 0)])


def _split_at_escalations(
    group: np.ndarray,
    starts: np.ndarray,
    window_errors: np.ndarray,
    length: int,
    needed: int,
    continued: OpenEventRows | None,
) -> list[tuple[np.ndarray, int, bool]]:
    """``group`` (positions of merged flagged windows) cut where its error escalates, each part with
    the position of the window that confirms it and whether it continues ``continued`` (the open event
    this group lies within the merge gap of): for the first part of a new group, its ``needed``-th
    window; for a part that escalation starts, the later of its first window above
    ``ESCALATION_FACTOR`` times the peak before it and its ``needed``-th window. Runs are the stretches
    whose flagged starts lie at most a window length apart; a run shorter than ``needed`` never starts
    a part. A continuation may be empty (its first run escalated) and is then left out."""
    runs = np.split(group, np.flatnonzero(np.diff(starts[group]) > length) + 1)
    if continued is None:
        parts, peak, last_start = [list(runs[0])], float(window_errors[runs[0]].max()), None
        runs = runs[1:]
    else:
        parts, peak, last_start = [[]], continued.peak_error, continued.last_start
    confirming = [-1]
    for run in runs:
        escalating = run[window_errors[run] > ESCALATION_FACTOR * peak]
        returns = last_start is None or starts[run[0]] > last_start + length
        if run.size >= needed and escalating.size and returns:
            parts.append(list(run))
            confirming.append(int(max(escalating[0], run[max(needed, 1) - 1])))
        else:
            parts[-1].extend(run)
        peak = max(peak, float(window_errors[run].max()))
        last_start = None
    first = np.asarray(parts[0], dtype=int)
    confirming[0] = int(first[min(max(needed, 1), first.size) - 1]) if first.size else -1
    split = [
        (np.asarray(part, dtype=int), at, index == 0 and continued is not None)
        for index, (part, at) in enumerate(zip(parts, confirming, strict=True))
    ]
    return [part for part in split if part[0].size]
