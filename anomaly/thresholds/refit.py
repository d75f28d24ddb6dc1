"""Learning a threshold that survives the anomalies in its own training data: fit, set aside what it
flags, fit again.

Unlabelled training data holds anomalies (every offline fit, every scheduled first fit, every retrain),
and their errors lift whatever statistic a threshold is learnt from, up to the point where the
threshold sits above the very anomalies it should flag. Setting aside the windows a first threshold
flags, and the windows overlapping them (they share the anomalous rows), and learning again from the
rest removes that lift; repeating until nothing more is set aside reaches a threshold learnt from what
the data calls normal. The share set aside is capped, so that a series whose errors have no tail to
remove is not eaten away round after round.
"""

from __future__ import annotations

import numpy as np

from anomaly.thresholds.base import Threshold

MAX_SET_ASIDE = 0.2
"""Largest share of the windows that refitting may set aside; a round that would pass it is not taken."""


def fit_setting_aside_flagged(
    method: Threshold,
    errors: np.ndarray,
    starts: np.ndarray,
    window_length: int,
    labelled: np.ndarray | None = None,
) -> Threshold:
    """Fit ``method`` on finite ``errors`` (n,) of the windows at ``starts`` (sorted), then refit up to
    ``method.config.refits`` times on the windows not overlapping any window the last fit flagged.

    Windows overlap when their starts are less than ``window_length`` apart. With ``labelled`` windows
    there is no refit: labels already say which windows are anomalous, and setting the flagged ones
    aside would drop the very windows a label-tuned threshold learns from. Returns ``method``, fitted.
    """
    method.fit(errors, labelled)
    kept = np.ones(len(errors), dtype=bool)
    for _ in range(0 if labelled is not None else method.config.refits):
        flagged_starts = starts[errors > method.threshold_]
        if flagged_starts.size == 0:
            break
        nearest = np.searchsorted(flagged_starts, starts)
        after = np.abs(flagged_starts[np.minimum(nearest, flagged_starts.size - 1)] - starts)
        before = np.abs(flagged_starts[np.maximum(nearest - 1, 0)] - starts)
        overlapping = np.minimum(after, before) < window_length
        if np.array_equal(~overlapping, kept) or overlapping.mean() > MAX_SET_ASIDE:
            break
        kept = ~overlapping
        method.fit(errors[kept])
    return method
