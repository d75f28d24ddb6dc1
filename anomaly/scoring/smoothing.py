"""Post-processing of window errors in time order: EWMA smoothing and trailing z-scores.

- ``ewma`` smooths window errors, restarting wherever the windows are not consecutive, and
  ``ewma_warm_up`` says how many earlier windows make an incremental run match a one-shot one.
- ``trailing_z`` judges each window's error against the errors of the windows just before it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

EWMA_TOLERANCE = 1e-6


def ewma(values: np.ndarray, starts: np.ndarray, alpha: float) -> np.ndarray:
    """Exponentially weighted moving average of window ``values`` (n,) in the order of ``starts``.

    ``s = alpha * x + (1 - alpha) * s_previous``, started at the first value of every run of
    consecutive starts with a value: windows never span a gap, so a jump in the starts is a segment
    boundary (or windows left out) and the smoothing does not carry errors across it; a window without
    a value (NaN) stays without one, and the smoothing restarts after it. pandas' recursive EWMA
    (``adjust=False``) computes it, bit for bit what ``scipy.signal.lfilter`` gave, without the 0.9 s
    import of ``scipy.signal`` that a scheduled run would otherwise pay to smooth a few new windows.
    """
    values = np.asarray(values, dtype=float)
    smoothed = np.full_like(values, np.nan)
    finite = np.isfinite(values)
    breaks = np.flatnonzero((np.diff(starts) != 1) | (finite[1:] != finite[:-1])) + 1
    for run in np.split(np.arange(len(values)), breaks):
        if len(run) and finite[run[0]]:
            smoothed[run] = pd.Series(values[run]).ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return smoothed


def ewma_warm_up(alpha: float | None) -> int:
    """Windows to score before the first one wanted so that the smoothing's start-up has decayed below
    ``EWMA_TOLERANCE`` (relative): ``ceil(log(tol) / log(1 - alpha))``; 0 without smoothing."""
    if alpha is None or alpha >= 1:
        return 0
    return math.ceil(math.log(EWMA_TOLERANCE) / math.log(1.0 - alpha))


TRAILING_MIN_WINDOWS = 10
SPREAD_FLOOR = 0.1


def trailing_z(values: np.ndarray, starts: np.ndarray, windows: int) -> np.ndarray:
    """Each window error (n,) as a z-score against the ``windows`` errors before it, in the order of
    ``starts``: ``(e - mean) / max(std, 0.1 * |mean|)`` of the preceding errors of the same run of
    consecutive starts (windows never span a gap, so the history restarts after one).

    A model's error level moves with the data (a busier season, a noisier sensor), and a fixed threshold
    then either sleeps through the quiet months or fires all through the busy ones; against its own
    recent level, what stands out is a change, which is what an alarm should announce (the idea behind
    NAB's anomaly likelihood and telemanom's windowed thresholds). The spread floor keeps a very steady
    stretch from turning tiny wiggles into huge scores. Windows with fewer than ``TRAILING_MIN_WINDOWS``
    errors before them in their run get 0: no history, no judgement; a window without an error (NaN)
    gets none, and is left out of the others' history.
    """
    values = np.asarray(values, dtype=float)
    run = np.concatenate([[0], np.cumsum(np.diff(starts) != 1)]) if len(values) else np.empty(0, dtype=int)
    previous = pd.Series(values).groupby(run).shift(1)
    rolling = previous.groupby(run).rolling(windows, min_periods=min(windows, TRAILING_MIN_WINDOWS))
    mean = rolling.mean().droplevel(0).sort_index().to_numpy()
    spread = np.maximum(rolling.std().droplevel(0).sort_index().to_numpy(), SPREAD_FLOOR * np.abs(mean))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (values - mean) / spread
    return np.where(np.isfinite(values), np.where(np.isfinite(z), z, 0.0), np.nan)
