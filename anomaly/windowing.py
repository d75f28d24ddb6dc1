"""Cutting a prepared series into windows that never span a gap, and folding window results back.

Rows are the rows of ``PreparedStream.values``; a window is identified by its start row. Windows
lie entirely inside one segment, so no window ever joins data from both sides of a gap.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def window_starts(segment: np.ndarray, length: int, stride: int = 1, *, first_end: int = 0) -> np.ndarray:
    """Start rows of every window of ``length`` rows inside one segment, ``stride`` rows apart.

    ``segment`` holds each row's segment number. Within each segment the starts are
    ``seg_start, seg_start + stride, ...``. Only windows whose last row is at least ``first_end``
    are returned, which is how incremental scoring skips windows an earlier run already scored.
    """
    if len(segment) == 0:
        return np.empty(0, dtype=np.int64)
    boundaries = np.flatnonzero(np.diff(segment)) + 1
    seg_starts = np.concatenate(([0], boundaries))
    seg_ends = np.concatenate((boundaries, [len(segment)]))
    starts = [
        np.arange(begin, end - length + 1, stride, dtype=np.int64)
        for begin, end in zip(seg_starts, seg_ends, strict=True)
        if end - begin >= length
    ]
    all_starts = np.concatenate(starts) if starts else np.empty(0, dtype=np.int64)
    return all_starts[all_starts + length - 1 >= first_end]


def gather_windows(values: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Windows of ``values`` (n_rows, channels) at ``starts``: an array (n_windows, length, channels)."""
    view = sliding_window_view(values, length, axis=0)  # (n_rows - length + 1, channels, length)
    return np.ascontiguousarray(view[starts].transpose(0, 2, 1), dtype=np.float32)


def max_over_covering_windows(
    window_values: np.ndarray, starts: np.ndarray, length: int, n_rows: int
) -> np.ndarray:
    """For each row, the largest value among the windows that cover it (NaN where none does, and windows
    without a value, NaN, are passed over).

    With one threshold on window errors, a row is anomalous exactly when a flagged window covers it,
    so this keeps per-row errors on the same scale as the threshold.
    """
    result = np.full(n_rows, -np.inf)
    for offset in range(length):
        np.fmax.at(result, starts + offset, window_values)
    result[np.isneginf(result)] = np.nan
    return result


def mean_over_covering_windows(step_values: np.ndarray, starts: np.ndarray, n_rows: int) -> np.ndarray:
    """For each row, the mean of its per-step values (n_windows, length) over covering windows (NaN if none).

    Used for the per-timestep error: each row is reconstructed by every window that covers it, and
    the average of those reconstructions' errors says where inside an event the error peaks.
    """
    length = step_values.shape[1]
    total = np.zeros(n_rows)
    count = np.zeros(n_rows)
    for offset in range(length):
        np.add.at(total, starts + offset, step_values[:, offset])
        np.add.at(count, starts + offset, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
