"""The Numenta Anomaly Benchmark score (Lavin & Ahmad 2015; the NAB v1.1 scorer, ``nab/sweeper.py``).

NAB rewards finding each labelled window early and punishes false alarms by how far they are from the
window before them:

- inside a window, an alarm is worth ``A_TP * sigma(y) / sigma(-1)``, where ``y`` is the row's position
  relative to the window's last row divided by the window's width in rows (``-1`` at its first row,
  ``0`` after its last) and ``sigma(y) = 2 / (1 + exp(5y)) - 1``: the first row earns ``A_TP``; only the
  best (earliest) alarm of each window counts;
- outside every window, each alarmed row costs ``A_FP * sigma(d)`` with ``d`` the distance in rows after
  the preceding window's last row over that window's width minus one, so an alarm just after a window
  costs almost nothing and one far away (or before any window) costs ``A_FP``;
- a window with no alarm costs ``A_FN``;
- rows of the probationary period (the first ``min(floor(0.15 n), 750)`` rows) are not scored.

A file's raw score is normalised against the null detector (no alarm: ``-A_FN`` per window) and the
perfect one (an alarm on each window's first row: ``A_TP`` per window), summed over files, so 100 is
perfect and 0 is doing nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

PROBATION_FRACTION = 0.15
PROBATION_MAX_ROWS = 750  # NAB: probationPercent * 5000 rows


@dataclass(frozen=True)
class CostProfile:
    """NAB's application profile: the weights of a true positive, a false positive and a miss."""

    name: str
    tp: float
    fp: float
    fn: float


PROFILES: tuple[CostProfile, ...] = (
    CostProfile("standard", tp=1.0, fp=0.11, fn=1.0),
    CostProfile("reward_low_FP", tp=1.0, fp=0.22, fn=1.0),
    CostProfile("reward_low_FN", tp=1.0, fp=0.11, fn=2.0),
)


def scaled_sigmoid(position: np.ndarray | float) -> np.ndarray:
    """NAB's ``2 / (1 + exp(5y)) - 1``, and exactly -1 beyond ``y > 3`` (far after a window)."""
    position = np.asarray(position, dtype=float)
    return np.where(position > 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * position)) - 1.0)


MAX_TP = float(scaled_sigmoid(-1.0))
"""The sigmoid at a window's first row; true positives are divided by it so that row earns ``A_TP``."""


def probationary_length(n_rows: int) -> int:
    """Rows at the start of a file that NAB does not score: ``min(floor(0.15 n), 750)``."""
    return min(int(np.floor(PROBATION_FRACTION * n_rows)), PROBATION_MAX_ROWS)


@dataclass(frozen=True)
class NabRows:
    """What NAB knows of one file's rows before any alarm is raised (rows in time order).

    ``window`` (n_rows,) is each row's labelled window (index into the file's windows, -1 outside);
    ``weight`` (n_rows,) the unweighted sigmoid a row is worth if alarmed (positive in windows, in
    [-1, 0] outside); ``scorable`` (n_rows,) is False in the probationary period; ``n_windows`` counts
    the windows with at least one scorable row.
    """

    window: np.ndarray
    weight: np.ndarray
    scorable: np.ndarray
    n_windows: int


@dataclass(frozen=True)
class NabScore:
    """A raw NAB score with the null and perfect scores of the same file(s), to normalise against."""

    raw: float
    null: float
    perfect: float

    def __add__(self, other: NabScore) -> NabScore:
        return NabScore(self.raw + other.raw, self.null + other.null, self.perfect + other.perfect)

    @property
    def normalised(self) -> float | None:
        """``100 * (raw - null) / (perfect - null)``; None where there is no window to find."""
        span = self.perfect - self.null
        return 100.0 * (self.raw - self.null) / span if span else None


def nab_rows(timestamps: pd.DatetimeIndex, windows: Sequence[tuple[pd.Timestamp, pd.Timestamp]]) -> NabRows:
    """Place sorted ``timestamps`` against labelled ``windows`` (inclusive ``[start, end]`` pairs)."""
    n_rows = len(timestamps)
    window = np.full(n_rows, -1)
    weight = np.full(n_rows, -1.0)
    rows = np.arange(n_rows)
    previous_end, previous_width = None, None
    for index, (start, end) in enumerate(sorted(windows)):
        first, last = timestamps.searchsorted(start, "left"), timestamps.searchsorted(end, "right") - 1
        if first > last:
            continue
        if previous_end is not None:
            after = rows[previous_end + 1 : first]
            weight[after] = scaled_sigmoid(np.abs(after - previous_end) / max(previous_width - 1, 1))
        width = last - first + 1
        inside = rows[first : last + 1]
        window[inside] = index
        weight[inside] = scaled_sigmoid(-(last - inside + 1) / width) / MAX_TP
        previous_end, previous_width = last, width
    if previous_end is not None:
        after = rows[previous_end + 1 :]
        weight[after] = scaled_sigmoid(np.abs(after - previous_end) / max(previous_width - 1, 1))
    scorable = rows >= probationary_length(n_rows)
    return NabRows(window, weight, scorable, len(np.unique(window[scorable & (window >= 0)])))


def nab_score(rows: NabRows, alarms: np.ndarray, profile: CostProfile) -> NabScore:
    """The raw score of one file's ``alarms`` (n_rows,) bool, with its null and perfect scores."""
    alarmed = np.asarray(alarms, dtype=bool) & rows.scorable
    false_alarms = alarmed & (rows.window < 0)
    raw = profile.fp * float(rows.weight[false_alarms].sum())
    for window in np.unique(rows.window[rows.scorable & (rows.window >= 0)]):
        hits = alarmed & (rows.window == window)
        raw += profile.tp * float(rows.weight[hits].max()) if hits.any() else -profile.fn
    return NabScore(raw=raw, null=-profile.fn * rows.n_windows, perfect=profile.tp * rows.n_windows)


def rising_edges(above: np.ndarray, quiet_rows: int = 1) -> np.ndarray:
    """Alarms (n_rows,) bool for rows in time order: where ``above`` is True after at least
    ``quiet_rows`` rows that were not (1: one alarm per run of True rows; more: runs closer than that
    to the previous one raise no new alarm, as overlapping flagged windows make one event)."""
    above = np.asarray(above, dtype=bool)
    seen = np.concatenate([[0], np.cumsum(above)])
    rows = np.arange(len(above))
    recent = seen[rows] - seen[np.maximum(rows - quiet_rows, 0)]
    return above & (recent == 0)


@dataclass(frozen=True)
class OptimisedScore:
    """The best total NAB score over thresholds on the anomaly scores, and that threshold (an alarm
    where ``anomaly_score`` rises to or above it, as the detector's own alarms are raised; ``inf``
    means no alarm at all)."""

    threshold: float
    score: NabScore


def best_threshold(
    files: Sequence[tuple[NabRows, np.ndarray]],
    profile: CostProfile,
    *,
    quiet_rows: int = 1,
    max_candidates: int = 2048,
) -> OptimisedScore:
    """Sweep thresholds over all files together, as NAB's optimiser does per profile, and return the one
    with the best summed raw score (the highest one on ties).

    Alarms at a threshold are the rising edges of ``anomaly_score >= threshold`` after ``quiet_rows``
    (``rising_edges``), the rule the detector's own decisions follow, so the optimum is an upper bound
    of what the detector's threshold could score. Candidates are every distinct score, or
    ``max_candidates`` quantiles of them when there are more (NAB itself searches with a local
    optimiser). ``files`` pairs each file's rows (in time order) with its anomaly scores (n_rows,).
    """
    pooled = np.concatenate([scores[rows.scorable] for rows, scores in files] + [np.empty(0)])
    candidates = np.unique(pooled)
    if candidates.size > max_candidates:
        candidates = np.unique(np.quantile(pooled, np.linspace(0, 1, max_candidates), method="inverted_cdf"))
    candidates = np.append(candidates, np.inf)
    totals = np.zeros(len(candidates))
    null = perfect = 0.0
    for rows, scores in files:
        scores = np.asarray(scores, dtype=float)
        totals += [
            nab_score(rows, rising_edges(scores >= threshold, quiet_rows), profile).raw
            for threshold in candidates
        ]
        null -= profile.fn * rows.n_windows
        perfect += profile.tp * rows.n_windows
    best = len(totals) - 1 - int(np.argmax(totals[::-1]))
    return OptimisedScore(float(candidates[best]), NabScore(float(totals[best]), null, perfect))
