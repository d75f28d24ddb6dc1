"""The one decision path: a stream's window errors to its anomaly events and alarms.

The pipeline (``anomaly run``), the evaluation protocols (``anomaly evaluate``) and the drift check all
decide through ``decide``, so what a user is told, what is measured and what retraining sees are the
same decisions: windows above the detector's threshold, merged into events where their starts lie
fewer than ``MERGE_GAP_WINDOWS`` window lengths apart within a segment, groups of fewer flagged
windows than the detector's ``windows_to_confirm`` dropped (``anomaly.events``), then
passed through the threshold method's own step on events (telemanom's pruning for the dynamic
threshold), against the largest normal error known. Windows within the merge gap of the stream's open
event (the latest one its model decided in an earlier run) continue that event instead of raising
another alarm, so a scheduled run decides as one decision over all the model's rows would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from anomaly.data.types import PreparedStream
from anomaly.events import OpenEventRows, merge_flagged_windows
from anomaly.results import Event, OpenEvent, WindowScores
from anomaly.timestamps import as_utc
from anomaly.windowing import max_over_covering_windows, mean_over_covering_windows

if TYPE_CHECKING:
    from anomaly.detectors.base import Detector


@dataclass(frozen=True)
class Decisions:
    """What was decided about the scored windows of one stream (rows from ``first_row`` on).

    ``events`` are the anomaly events that survived the threshold method's step; ``flagged_windows``
    (n_windows,) marks the windows belonging to them; ``row_errors`` (n_rows,) is each row's largest
    covering window error (NaN before ``first_row`` and where no window covers it) and ``step_errors``
    (n_rows,) the mean per-step error there. ``window_length`` is the detector's.
    """

    events: list[Event]
    flagged_windows: np.ndarray
    row_errors: np.ndarray
    step_errors: np.ndarray
    window_starts: np.ndarray
    window_length: int

    def alarm_row(self, event: Event, *, causal: bool) -> int | None:
        """The row at which ``event`` raises its one alarm: its first row, or with ``causal`` the last
        row of its confirming window (``Event.confirming_position``), the earliest row at which a
        detector that sees rows as they arrive can know of it; ``None`` for an event that continues
        one an earlier run alarmed."""
        if event.continues:
            return None
        if causal:
            return int(self.window_starts[event.confirming_position]) + self.window_length - 1
        return event.first_row

    def alarm_rows(self, *, causal: bool) -> np.ndarray:
        """The rows at which the events raise alarms (``alarm_row``), sorted."""
        rows = [self.alarm_row(event, causal=causal) for event in self.events]
        return np.array([row for row in rows if row is not None], dtype=int)

    def event_spans(self, *, causal: bool) -> list[tuple[int, int]]:
        """Each event's first and last row, as its alarm sees them: the localised event, or with
        ``causal`` its flagged windows' whole span (where a causal detector's errors cross the
        threshold)."""
        if not causal:
            return [(event.first_row, event.last_row) for event in self.events]
        return [
            (
                int(self.window_starts[event.window_positions[0]]),
                int(self.window_starts[event.window_positions[-1]]) + self.window_length - 1,
            )
            for event in self.events
        ]

    def event_rows(self, *, causal: bool) -> np.ndarray:
        """(n_rows,) bool: the rows inside a decided event (``event_spans``)."""
        inside = np.zeros(len(self.row_errors), dtype=bool)
        for first, last in self.event_spans(causal=causal):
            inside[first : last + 1] = True
        return inside


def decide(
    detector: Detector,
    stream: PreparedStream,
    scores: WindowScores,
    *,
    first_row: int = 0,
    open_event: OpenEvent | None = None,
) -> Decisions:
    """Events and per-row errors of ``scores`` (``detector.score_samples(stream, first_row=...)``);
    flagged windows within the merge gap of ``open_event`` (the latest event that earlier runs of the
    same model version decided) continue it (``Event.continues``) rather than raise another alarm."""
    length = detector.window.length
    threshold = detector.threshold_
    n_rows = len(stream.values)
    row_errors = max_over_covering_windows(scores.window_errors, scores.starts, length, n_rows)
    row_errors[:first_row] = np.nan
    step_errors = mean_over_covering_windows(scores.step_errors, scores.starts, n_rows)
    candidates = merge_flagged_windows(
        scores.starts,
        scores.window_errors,
        threshold,
        length,
        stream.segment,
        step_errors,
        min_windows=detector.windows_to_confirm,
        scored_before=first_row > 0,
        open_event=_in_rows(open_event, stream, threshold),
    )
    # A continuation was decided (and alarmed) with the earlier event; only new events are pruned.
    events = [event for event in candidates if event.continues]
    new = [event for event in candidates if not event.continues]
    if new:
        unflagged_max = float(scores.window_errors[scores.window_errors <= threshold].max(initial=0.0))
        keep = detector.threshold_method_.keep_events(
            np.array([event.peak_error for event in new]),
            max(detector.max_normal_error_, unflagged_max),
        )
        events += [event for event, kept in zip(new, keep, strict=True) if kept]
    flagged = np.zeros(len(scores.starts), dtype=bool)
    for event in events:
        flagged[event.window_positions] = True
    return Decisions(
        events=events,
        flagged_windows=flagged,
        row_errors=row_errors,
        step_errors=step_errors,
        window_starts=scores.starts,
        window_length=length,
    )


def _in_rows(open_event: OpenEvent | None, stream: PreparedStream, threshold: float) -> OpenEventRows | None:
    """``open_event`` in ``stream``'s rows (its last window's start counted in grid steps from the
    first row, negative before it) and on ``threshold``'s scale."""
    if open_event is None:
        return None
    index = stream.values.index
    last_start = as_utc(open_event.last_window_start)  # read from an aggregate: naive in SQLite
    if last_start >= index[0]:
        row = int(index.searchsorted(last_start, side="right")) - 1
    else:
        row = -int(np.ceil((index[0] - last_start) / stream.frequency))
    return OpenEventRows(last_start=row, peak_error=open_event.severity * threshold)
