"""VUS-PR: the volume under the range-based precision-recall surface of a ranking score.

Paparrizos, Boniol, Palpanas, Tsay, Elmore and Franklin, "Volume Under the Surface: A New Accuracy
Evaluation Measure for Time-Series Anomaly Detection", PVLDB 15(11), 2022; the ranking measure TSB-AD
(Liu and Paparrizos, NeurIPS 2024) recommends. Point-wise PR-AUC gives no credit to a score that peaks a
few rows before or after a labelled range, although labels seldom mark an anomaly's edges to the row.
VUS-PR softens the edges: for a buffer length ``l``, every labelled range is extended by ``l // 2`` rows
on each side with a weight ``sqrt(1 - d / l)`` at distance ``d`` (ramps of two ranges add, capped at 1),
and the range-based precision and recall at a threshold are

- recall: ``min(TP / (P + B / 2), 1)`` times the share of buffered ranges holding a flagged row
  (the existence reward), where ``P`` counts the labelled rows, ``B`` the buffer weight of the flagged
  buffer rows, and ``TP`` the flagged labelled rows plus ``B``;
- precision: ``TP`` over the flagged rows.

Their area (average precision, right-hand steps) over the thresholds is averaged over the buffer
lengths ``0, 1, ..., max_buffer``. The definition follows TSB-AD 1.5's reference code
(``RangeAUC_volume_opt``) to its details: 250 thresholds at the scores of evenly spaced ranks (the
highest score first, the lowest last, a row flagged when its score is at or above the threshold),
buffer lengths in steps of 1, and, for ``max_buffer``, the series' dominant period from its
autocorrelation (``sliding_window``, TSB-AD's ``find_length_rank``). TSB-AD 1.5 passes that period as
``max_buffer`` itself; the paper's own robustness experiments used twice it. The computation is
vectorised over rows and thresholds, looping only over buffer lengths, with the buffer rows alone.
"""

from __future__ import annotations

import numpy as np

from anomaly.evaluation.metrics import nan_as_lowest

THRESHOLDS = 250
FALLBACK_WINDOW = 125
"""TSB-AD's window where a series shows no period of 6 to 303 rows."""
_PERIOD_ROWS = 20_000
_PERIOD_LAGS = 400
_FIRST_LAG = 3
_PERIODS = (6, 303)


def sliding_window(values: np.ndarray) -> int:
    """The dominant period of a series in rows: the lag of the highest local maximum of the
    autocorrelation over lags 3 to 400 of the first 20,000 finite values if it is 6 to 303, else 125.

    The buffer of VUS-PR then depends on the data only, so that every detector on a series is measured
    with the same one.
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)][:_PERIOD_ROWS]
    centred = finite - finite.mean() if len(finite) else finite
    if len(centred) < _FIRST_LAG + 3 or not np.any(centred):
        return FALLBACK_WINDOW
    spectrum = np.fft.rfft(centred, n=2 * len(centred))
    autocovariance = np.fft.irfft(spectrum * np.conj(spectrum), n=2 * len(centred))[: _PERIOD_LAGS + 1]
    correlation = autocovariance[_FIRST_LAG:] / autocovariance[0]
    inner = correlation[1:-1]
    peaks = np.flatnonzero((inner > correlation[:-2]) & (inner > correlation[2:])) + 1
    if not len(peaks):
        return FALLBACK_WINDOW
    period = int(peaks[np.argmax(correlation[peaks])]) + _FIRST_LAG
    return period if _PERIODS[0] <= period <= _PERIODS[1] else FALLBACK_WINDOW


def vus_pr(labels: np.ndarray, scores: np.ndarray, *, max_buffer: int) -> float | None:
    """VUS-PR of ``scores`` against 0/1 ``labels``, both (n_rows,) in time order, averaged over the
    buffer lengths 0 to ``max_buffer`` rows; None without a labelled row.

    Rows without a score (NaN) rank with the lowest-scored rows, as in ``pr_auc``.
    """
    if max_buffer < 0:
        raise ValueError(f"max_buffer must be at least 0, not {max_buffer}")
    anomalous = np.asarray(labels).astype(bool)
    if not anomalous.any():
        return None
    scores = nan_as_lowest(np.asarray(scores, dtype=float))
    n_rows = len(scores)
    starts, ends = _ranges(anomalous)

    descending = np.sort(scores)[::-1]
    thresholds = descending[np.linspace(0, n_rows - 1, THRESHOLDS).astype(int)]
    # A row is flagged at threshold j (0 the highest) from j = first[row] on.
    first = THRESHOLDS - np.searchsorted(thresholds[::-1], scores, side="right")
    flagged = _flagged_by_threshold(first)
    flagged_labelled = _flagged_by_threshold(first[anomalous])

    half = max_buffer // 2
    buffer_rows, nearest, second = _buffer_rows(anomalous, starts, ends, half)
    buffer_first = first[buffer_rows]
    reach = _first_flag_within(first, anomalous, starts, ends, half)
    gaps = starts[1:] - ends[:-1]

    lengths = np.arange(max_buffer + 1)
    buffer_found = np.zeros((len(lengths), THRESHOLDS))
    existence = np.zeros((len(lengths), THRESHOLDS))
    for length in lengths:
        side = length // 2
        if side:
            weight = np.where(
                second <= side,
                1.0,
                np.where(nearest <= side, np.sqrt(1 - np.minimum(nearest, side) / length), 0),
            )
            buffer_found[length] = _flagged_by_threshold(buffer_first, weight)
        # Ranges whose buffers overlap count as one; a merged range exists once any of its rows is flagged.
        merged = np.concatenate([[0], np.flatnonzero(gaps > 2 * side) + 1])
        existence[length] = _flagged_by_threshold(np.minimum.reduceat(reach[:, side], merged)) / len(merged)

    found = flagged_labelled + buffer_found
    recall = np.minimum(found / (anomalous.sum() + buffer_found / 2), 1.0) * existence
    precision = found / flagged
    steps = np.diff(recall, axis=1, prepend=0.0)
    return float(np.mean(np.sum(steps * precision, axis=1)))


def _ranges(anomalous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last rows (inclusive) of each run of labelled rows."""
    edges = np.diff(np.concatenate([[0], anomalous.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1


def _flagged_by_threshold(first: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(THRESHOLDS,): how many of the rows (or how much of their ``weights``) each threshold flags."""
    return np.cumsum(np.bincount(first, weights=weights, minlength=THRESHOLDS))


def _buffer_rows(
    anomalous: np.ndarray, starts: np.ndarray, ends: np.ndarray, half: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The unlabelled rows within ``half`` rows of a labelled range, with their distances to the nearest
    and the second nearest range.

    A ramp weighs at least sqrt(1/2) wherever it reaches, so a row two ramps reach weighs 1 (the cap):
    the two distances are all the buffer weight needs.
    """
    rows = np.flatnonzero(~anomalous)
    before = np.searchsorted(ends, rows) - 1
    after = np.searchsorted(starts, rows)

    def distance(ranges: np.ndarray, edge: np.ndarray) -> np.ndarray:
        inside = (ranges >= 0) & (ranges < len(edge))
        return np.where(inside, np.abs(rows - edge[np.clip(ranges, 0, len(edge) - 1)]), np.inf)

    left, far_left = distance(before, ends), distance(before - 1, ends)
    right, far_right = distance(after, starts), distance(after + 1, starts)
    nearest = np.minimum(left, right)
    second = np.minimum(np.maximum(left, right), np.minimum(far_left, far_right))
    keep = nearest <= half
    return rows[keep], nearest[keep], second[keep]


def _first_flag_within(
    first: np.ndarray, anomalous: np.ndarray, starts: np.ndarray, ends: np.ndarray, half: int
) -> np.ndarray:
    """(n_ranges, half + 1): per labelled range and side length h, the first threshold that flags a row
    within h rows of the range (its own rows included)."""
    own = np.minimum.reduceat(np.where(anomalous, first, THRESHOLDS), starts)
    offsets = np.arange(1, half + 1)

    def outward(rows: np.ndarray) -> np.ndarray:
        inside = (rows >= 0) & (rows < len(first))
        return np.minimum.accumulate(
            np.where(inside, first[np.clip(rows, 0, len(first) - 1)], THRESHOLDS), axis=1
        )

    before = outward(starts[:, None] - offsets[None, :])
    after = outward(ends[:, None] + offsets[None, :])
    return np.minimum(own[:, None], np.concatenate([own[:, None], np.minimum(before, after)], axis=1))
