"""Which rows a prediction decoder is trained on and which of its predictions judge each scored window.

A prediction model maps a window to the ``horizon`` rows after it. The pipeline, though, stores one
error per stride-1 window and spreads it over that window's rows, so a prediction's error is given
to the window that *ends* with the predicted rows: window ``w`` is judged by the prediction made from
the window ``horizon`` rows earlier, of ``w``'s last ``horizon`` rows. The error then sits on the rows
that were mispredicted and depends only on rows up to ``w``'s end, so it never changes when later
data arrives (an incremental run gives what a one-shot run gives).

The first ``horizon`` windows of a segment have no full window ``horizon`` rows before them; they are
judged by the segment's first window's prediction, like window ``segment start + horizon``, whose
target reaches at most ``horizon`` rows past their end. Where a segment ends before that target does,
only the rows inside the segment count; a segment of exactly ``window`` rows has nothing to compare a
prediction with, and its one window's prediction error is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PredictionTargets:
    """For windows at some starts: ``inputs`` (n,) the start rows of the windows whose predictions
    judge them, ``rows`` (n, horizon) the predicted rows, ``valid`` (n, horizon) where those rows
    exist in the input's segment, and ``offsets`` (n, horizon) the predicted rows' positions in the
    judged window (``window - horizon .. window - 1`` away from segment starts)."""

    inputs: np.ndarray
    rows: np.ndarray
    valid: np.ndarray
    offsets: np.ndarray


def prediction_targets(
    segment: np.ndarray, starts: np.ndarray, length: int, horizon: int
) -> PredictionTargets:
    """The predictions that judge the windows of ``length`` rows at ``starts`` (see the module)."""
    boundaries = np.flatnonzero(np.diff(segment)) + 1
    segment_first = np.concatenate(([0], boundaries))
    segment_end = np.concatenate((boundaries, [len(segment)]))
    position = np.searchsorted(segment_first, starts, side="right") - 1
    inputs = np.maximum(starts - horizon, segment_first[position])
    rows = inputs[:, None] + length + np.arange(horizon)
    valid = rows < segment_end[position][:, None]
    return PredictionTargets(inputs=inputs, rows=rows, valid=valid, offsets=rows - starts[:, None])
