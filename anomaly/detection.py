"""From window errors to what gets stored: per-row errors, flags, events and the kept windows.

This is the middle of the data flow (model -> errors -> threshold -> events -> embeddings); it
knows nothing of the database, so it can be tested on its own and reused by evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anomaly.data.types import PreparedStream
from anomaly.events import Event, merge_flagged_windows
from anomaly.model.detector import LSTMAutoencoderDetector, WindowScores
from anomaly.windowing import max_over_covering_windows, mean_over_covering_windows


@dataclass(frozen=True)
class KeptWindows:
    """The windows whose embeddings are stored: every flagged one plus a regular normal sample.

    All arrays have one entry per kept window: ``positions`` into the scored windows, ``starts``
    (rows), ``errors``, ``flagged``, ``event`` (index into the events, -1 for none), ``embeddings``
    (n, units), ``clusters``, ``xy`` (n, 2) and ``reconstructions`` (n, window, channels) in the
    data's units.
    """

    positions: np.ndarray
    starts: np.ndarray
    errors: np.ndarray
    flagged: np.ndarray
    event: np.ndarray
    embeddings: np.ndarray
    clusters: np.ndarray
    xy: np.ndarray
    reconstructions: np.ndarray


@dataclass(frozen=True)
class StreamAnalysis:
    """Everything one run learns about one stream's new rows (rows from ``first_row`` on).

    ``row_errors`` (n_rows,) is, for each row, the largest error of the windows covering it (the
    threshold's scale; NaN before ``first_row``); ``step_errors`` (n_rows,) the mean per-step error
    there, used to place peaks and to show where in a window the error sits.
    """

    first_row: int
    threshold: float
    window_scores: WindowScores
    row_errors: np.ndarray
    step_errors: np.ndarray
    events: list[Event]
    kept: KeptWindows

    @property
    def scored_rows(self) -> np.ndarray:
        """Rows that get a ``scores`` entry in this run."""
        rows = np.arange(len(self.row_errors))
        return rows[(rows >= self.first_row) & np.isfinite(self.row_errors)]


def analyse_stream(
    detector: LSTMAutoencoderDetector,
    stream: PreparedStream,
    *,
    first_row: int = 0,
    normal_sample_every: int = 24,
) -> StreamAnalysis:
    """Score the rows of ``stream`` from ``first_row`` on and derive events and kept windows.

    A 'dynamic' threshold comes with telemanom's pruning of events, against the largest normal
    held-out error of fitting (the top of ``reference_errors_``) or of this run, whichever is larger.
    """
    length = detector.window.length
    n_rows = len(stream.values)
    scores = detector.score(stream, first_row=first_row)
    row_errors = max_over_covering_windows(scores.window_errors, scores.starts, length, n_rows)
    row_errors[:first_row] = np.nan
    step_errors = mean_over_covering_windows(scores.step_errors, scores.starts, n_rows)
    pruned = detector.threshold.method == "dynamic"
    events = merge_flagged_windows(
        scores.starts,
        scores.window_errors,
        detector.threshold_,
        length,
        stream.segment,
        step_errors,
        min_decrease=detector.threshold.dynamic_min_decrease if pruned else None,
        max_normal_error=float(detector.reference_errors_.max(initial=0.0)),
    )
    kept = _keep_windows(detector, stream, scores, events, normal_sample_every)
    return StreamAnalysis(
        first_row=first_row,
        threshold=detector.threshold_,
        window_scores=scores,
        row_errors=row_errors,
        step_errors=step_errors,
        events=events,
        kept=kept,
    )


def _keep_windows(
    detector: LSTMAutoencoderDetector,
    stream: PreparedStream,
    scores: WindowScores,
    events: list[Event],
    every: int,
) -> KeptWindows:
    event_of_window = np.full(len(scores.starts), -1)
    for index, event in enumerate(events):
        event_of_window[event.window_positions] = index
    flagged = event_of_window >= 0
    # Sampling on the absolute time grid keeps the sample regular across incremental runs.
    step_number = stream.values.index.asi8[scores.starts] // stream.frequency.value
    sampled = (step_number % every == 0) & ~flagged
    positions = np.flatnonzero(flagged | sampled)
    starts = scores.starts[positions]
    reconstructions, embeddings = detector.reconstruct(stream, starts)
    space = detector.embedding_space_
    return KeptWindows(
        positions=positions,
        starts=starts,
        errors=scores.window_errors[positions],
        flagged=flagged[positions],
        event=event_of_window[positions],
        embeddings=embeddings,
        clusters=space.assign(embeddings) if len(embeddings) else np.empty(0, dtype=int),
        xy=space.project(embeddings) if len(embeddings) else np.empty((0, 2)),
        reconstructions=reconstructions,
    )
