"""What one run learns about one stream: its new rows scored, decided, and the windows worth keeping.

This is the middle of the data flow (detector -> errors -> decisions -> kept windows); it knows nothing
of the database, so it can be tested on its own, and ``anomaly.results`` holds what it returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from anomaly.data.types import PreparedStream
from anomaly.decisions import Decisions, decide
from anomaly.results import KeptWindows, OpenEvent, StreamAnalysis, WindowScores
from anomaly.timing import PhaseTimer

if TYPE_CHECKING:
    from anomaly.detectors.base import Detector


def analyse_stream(
    detector: Detector,
    stream: PreparedStream,
    *,
    first_row: int = 0,
    normal_sample_every: int = 24,
    timer: PhaseTimer | None = None,
    open_event: OpenEvent | None = None,
) -> StreamAnalysis:
    """Score the rows of ``stream`` from ``first_row`` on, decide its events and pick the kept windows.

    ``open_event`` is the latest event that earlier runs of the same model decided: new flagged
    windows within its merge gap continue it (``anomaly.decisions.decide``). With ``timer``, scoring
    and deciding count as its phase ``score``, the kept windows' embeddings, clusters and map
    positions as ``embed``."""
    timer = timer or PhaseTimer()
    with timer.phase("score"):
        scores = detector.score_samples(stream, first_row=first_row)
        decisions = decide(detector, stream, scores, first_row=first_row, open_event=open_event)
    with timer.phase("embed"):
        kept = _keep_windows(detector, stream, scores, decisions, normal_sample_every)
    return StreamAnalysis(
        first_row=first_row,
        threshold=detector.threshold_,
        window_scores=scores,
        row_errors=decisions.row_errors,
        step_errors=decisions.step_errors,
        flagged_windows=decisions.flagged_windows,
        events=decisions.events,
        kept=kept,
        open_event=open_event,
    )


def _keep_windows(
    detector: Detector, stream: PreparedStream, scores: WindowScores, decisions: Decisions, every: int
) -> KeptWindows:
    """Every window of an event plus one scored normal window every ``every`` grid steps, with embeddings."""
    event_of_window = np.full(len(scores.starts), -1)
    for index, event in enumerate(decisions.events):
        event_of_window[event.window_positions] = index
    flagged = decisions.flagged_windows
    # Sampling on the absolute time grid keeps the sample regular across incremental runs.
    step_number = stream.values.index.asi8[scores.starts] // stream.frequency.value
    sampled = (step_number % every == 0) & ~flagged & np.isfinite(scores.window_errors)
    positions = np.flatnonzero(flagged | sampled)
    starts = scores.starts[positions]
    reconstructions, embeddings = detector.reconstruct(stream, starts)
    space = detector.embedding_space_
    return KeptWindows(
        positions=positions,
        starts=starts,
        window_length=detector.window.length,
        errors=scores.window_errors[positions],
        flagged=flagged[positions],
        event=event_of_window[positions],
        embeddings=embeddings,
        clusters=space.assign(embeddings) if len(embeddings) else np.empty(0, dtype=int),
        xy=space.project(embeddings) if len(embeddings) else np.empty((0, 2)),
        reconstructions=reconstructions,
    )
