"""Which rows a prediction decoder is trained on and which of its predictions judge each scored window.

A prediction model maps a window to the ``horizon`` rows after it. The pipeline, though, stores one
error per stride-1 window and spreads it over that window's rows, so a prediction's error is given
to the window that *ends* with the predicted rows: window ``w`` is judged by the prediction made from
the window ``horizon`` rows earlier, of ``w``'s last ``horizon`` rows. The error then sits on the rows
that were mispredicted and depends only on rows up to ``w``'s end, so it never changes when later
data arrives (an incremental run gives what a one-shot run gives).

The first ``horizon`` windows of a segment have no full window ``horizon`` rows before them. The only
prediction there is, the segment's first window's, covers rows after their end, and judging them by it
would make their error depend on later rows (a look-ahead that streaming rules forbid), so they get no
prediction error at all (``valid`` all False: NaN). A judged window's target rows are its own last
``horizon`` rows, so they always lie inside its segment.
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
    segment_first = np.concatenate(([0], np.flatnonzero(np.diff(segment)) + 1))
    first_of_own_segment = segment_first[np.searchsorted(segment_first, starts, side="right") - 1]
    judged = starts - horizon >= first_of_own_segment
    # Unjudged windows keep an input inside their segment, so that gathering it stays valid.
    inputs = np.where(judged, starts - horizon, first_of_own_segment)
    rows = inputs[:, None] + length + np.arange(horizon)
    valid = np.repeat(judged[:, None], horizon, axis=1)
    return PredictionTargets(inputs=inputs, rows=rows, valid=valid, offsets=rows - starts[:, None])
