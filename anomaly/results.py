"""Plain records of what a detector and the decision path produce for one stream, in row coordinates.

They hold arrays and numbers only, so the analysis fills them and storage writes them without either
knowing the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class WindowScores:
    """Errors of the stride-1 windows of a stream that end at or after some first row.

    ``starts`` (n_windows,) are start rows; ``window_errors`` (n_windows,) the error compared with the
    threshold, on the detector's own scale (for the LSTM autoencoder, by default, the mean squared
    error in scaled units); ``step_errors`` (n_windows, window) where in each window the error sits
    (for a prediction, 0 at the steps no prediction judges), used to place peaks.
    """

    starts: np.ndarray
    window_errors: np.ndarray
    step_errors: np.ndarray


@dataclass(frozen=True)
class Event:
    """One anomaly event in row coordinates of the prepared series.

    ``first_row``/``last_row`` bound the rows of its flagged windows where the per-timestep error is
    high (``anomaly.events``); ``peak_row`` is where it is largest; ``peak_error`` is the largest
    window error (the threshold's scale), so ``severity = peak_error / threshold`` is at least 1.
    ``window_positions`` index the scored windows that belong to the event (its flagged ones), and
    ``confirming_position`` the one of them that confirms it (the detector's ``windows_to_confirm``-th,
    or where an escalation rises: ``anomaly.events``): a detector seeing rows as they come can alarm
    at that window's last row. An event that ``continues`` the stream's open event (``OpenEvent``)
    is the rest of one an earlier run decided and alarmed: it extends that one and raises no alarm.
    """

    first_row: int
    last_row: int
    peak_row: int
    peak_error: float
    severity: float
    window_positions: np.ndarray
    confirming_position: int
    continues: bool = False

    @property
    def n_windows(self) -> int:
        """How many flagged windows the event merges."""
        return len(self.window_positions)


@dataclass(frozen=True)
class OpenEvent:
    """The latest event that earlier runs of a stream decided, which new flagged windows may continue.

    Events are decided run by run (a scheduled run, a streaming chunk after a retrain), but an anomaly
    does not end where a run does: windows flagged within the merge gap of ``last_window_start`` (the
    start of its last flagged window) continue it, so it is stored, and alerted, once, as one decision
    over all the rows would (the evaluation protocols' decision). Only the model version that decided
    it continues it: a new version judges afresh, and one that still flags the rows it has just
    learnt from raises a new alarm (carrying events across retrains cost quality: docs/quality.md).
    ``severity`` is its peak error over the threshold it was judged by; ``anomaly_id`` its stored row.
    """

    last_window_start: pd.Timestamp
    severity: float
    anomaly_id: int


@dataclass(frozen=True)
class KeptWindows:
    """The windows whose embeddings are stored: every flagged one plus a regular normal sample.

    All arrays have one entry per kept window: ``positions`` into the scored windows, ``starts``
    (rows), ``errors``, ``flagged``, ``event`` (index into the events, -1 for none), ``embeddings``
    (n, dim), ``clusters``, ``xy`` (n, 2), and ``reconstructions`` (n, window, channels) in the
    data's units, or None for a detector that has no version of a window to show.
    """

    positions: np.ndarray
    starts: np.ndarray
    window_length: int
    errors: np.ndarray
    flagged: np.ndarray
    event: np.ndarray
    embeddings: np.ndarray
    clusters: np.ndarray
    xy: np.ndarray
    reconstructions: np.ndarray | None


@dataclass(frozen=True)
class StreamAnalysis:
    """Everything one run learns about one stream's new rows (rows from ``first_row`` on).

    ``row_errors`` (n_rows,) is, for each row, the largest error of the windows covering it (the
    threshold's scale; NaN before ``first_row``); ``step_errors`` (n_rows,) the mean per-step error
    there; ``flagged_windows`` (n_windows,) the windows that belong to an event after the decision
    (pruned events' windows are not flagged); ``open_event`` the earlier event that an event which
    ``continues`` extends.
    """

    first_row: int
    threshold: float
    window_scores: WindowScores
    row_errors: np.ndarray
    step_errors: np.ndarray
    flagged_windows: np.ndarray
    events: list[Event]
    kept: KeptWindows
    open_event: OpenEvent | None = None

    @property
    def scored_rows(self) -> np.ndarray:
        """Rows that get a ``scores`` entry in this run."""
        rows = np.arange(len(self.row_errors))
        return rows[(rows >= self.first_row) & np.isfinite(self.row_errors)]
