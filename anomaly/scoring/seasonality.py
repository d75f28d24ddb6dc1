"""A stream's calendar cycle, and each window's distance from the same phase of the cycles before it.

Sensor fleets live on daily and weekly cycles. A model that sees one window at a time cannot tell a
flat afternoon from a flat night: the window looks normal, only its phase is wrong. Comparing each
window with its best-aligned counterparts one, two and three cycles earlier sees exactly that, and
costs nothing to learn but the period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_AUTOCORRELATION = 0.5
"""Smallest autocorrelation (unbiased, averaged over channels) at a cycle's lag for the stream to count
as following it; below it, the stream's windows are not compared with earlier cycles at all."""
CALENDAR_CYCLES = (pd.Timedelta(days=1), pd.Timedelta(weeks=1))
CYCLES_COMPARED = 3
"""Earlier cycles a window is compared with (the median of their distances)."""
MIN_EARLIER_CYCLES = CYCLES_COMPARED
"""Earlier cycles a window needs before it is judged: all of them, so that every error is the same
statistic, the median of three. Against a single cycle an odd day would echo into the next as an
anomaly of its own; and a threshold learnt on the lower of two distances (all that the first judged
cycle of a short history has) lies below the median of three that later windows get, so a scheduled
run flagged the ordinary days after a spike (measured: docs/quality.md)."""
MIN_CYCLES = CYCLES_COMPARED + 1
"""Cycles the fitted rows must hold for a period to be estimated from them: the first
``CYCLES_COMPARED`` are only compared with, so at least one cycle of windows is judged and the threshold
has errors to learn from."""
SHIFT_FRACTION = 0.1
"""How far, as a share of the period, a window's counterpart in an earlier cycle may be shifted to
align best with it."""
LAG_BLOCK_ELEMENTS = 1_000_000
"""Most (lag, row, channel) differences computed at once, to bound the memory of comparing many shifts
of a long history together."""


def calendar_period(values: np.ndarray, step: pd.Timedelta) -> int | None:
    """The calendar cycle (a day or a week) of ``values`` (n, channels) on a grid of ``step``, in grid
    steps, or None when neither shows.

    A cycle counts when it fits ``MIN_CYCLES`` times in the rows and a whole number of steps, and the
    autocorrelation at its lag (unbiased, averaged over channels) reaches ``MIN_AUTOCORRELATION``; of
    the two, the stronger wins. Only calendar cycles are looked for: what a fleet's sensors repeat is
    set by clocks (shifts, office hours, the sun), and a cycle that wanders in length, a heartbeat or a
    machine's duty cycle, is better left to a model of the window's shape than compared with the same
    phase of earlier cycles, which would flag its every wander.
    """
    values = np.asarray(values, dtype=float)
    n_rows = len(values)
    correlation_at = _autocorrelation(values)
    best, strongest = None, MIN_AUTOCORRELATION
    for cycle in CALENDAR_CYCLES:
        steps, remainder = divmod(cycle.as_unit("ns").value, pd.Timedelta(step).as_unit("ns").value)
        if correlation_at is None or remainder or steps < 2 or MIN_CYCLES * steps > n_rows:
            continue
        strength = correlation_at[steps] * n_rows / (n_rows - steps)
        if strength >= strongest:
            best, strongest = int(steps), strength
    return best


def _autocorrelation(values: np.ndarray) -> np.ndarray | None:
    """(n,) the autocorrelation of ``values`` (n, channels) at lags 0 .. n-1, averaged over the channels
    that vary; None when none does."""
    n_rows = len(values)
    correlations = []
    for channel in values.T:
        centred = channel - channel.mean()
        if not np.isfinite(centred).all() or centred.std() == 0:
            continue
        spectrum = np.fft.rfft(centred, 2 * n_rows)
        autocovariance = np.fft.irfft(spectrum * np.conj(spectrum))[:n_rows]
        correlations.append(autocovariance / autocovariance[0])
    return np.mean(correlations, axis=0) if correlations else None


@dataclass(frozen=True)
class CycleMatch:
    """How the windows at ``starts`` compare with the same phase of earlier cycles.

    ``window_errors`` (n_windows,): the lower median over the earlier cycles present of the window's
    distance to its best-aligned counterpart in that cycle (NaN where fewer than ``MIN_EARLIER_CYCLES``
    are present: with all of them required, the median of three); ``step_errors``
    (n_windows, length): the per-row distances to the counterpart the median chose (0 where none);
    ``matched_rows`` (n_windows, length): that counterpart's row positions (-1 where none).
    """

    window_errors: np.ndarray
    step_errors: np.ndarray
    matched_rows: np.ndarray


def largest_shift(period: int) -> int:
    """Grid steps by which a window's counterpart in an earlier cycle may be shifted either way:
    ``SHIFT_FRACTION`` of the ``period``, at least one."""
    return max(1, round(SHIFT_FRACTION * period))


def match_cycles(
    scaled: np.ndarray,
    index: pd.DatetimeIndex,
    step: pd.Timedelta,
    period: int,
    starts: np.ndarray,
    length: int,
) -> CycleMatch:
    """Compare each window of ``scaled`` (n_rows, channels) at ``starts`` with the windows one to
    ``CYCLES_COMPARED`` periods earlier, each shifted by up to ``SHIFT_FRACTION`` of a period either
    way to the best-aligned one (a cycle's length wanders: a heartbeat, a shift that starts late).

    A window's distance to an earlier one is the mean over its rows of the largest absolute difference
    over channels, in the units of ``scaled``; earlier rows are found by timestamp, not position, since
    a stream split at a gap has rows missing. Taking the median over the cycles keeps one odd cycle
    from echoing into the next. Distances are computed only for the rows from the first window to the
    last, so a scheduled run's few new windows cost a few rows, not the whole history read for them.
    """
    stamps = index.as_unit("ns").asi8
    step = pd.Timedelta(step).as_unit("ns")
    shift = largest_shift(period)
    starts = np.asarray(starts, dtype=int)
    first = int(starts.min()) if len(starts) else 0
    span = slice(first, int(starts.max()) + length if len(starts) else 0)
    per_cycle_errors = np.full((CYCLES_COMPARED, len(starts)), np.nan)
    per_cycle_lags = np.zeros((CYCLES_COMPARED, len(starts)), dtype=int)
    columns = np.arange(len(starts))
    lags_at_once = max(1, LAG_BLOCK_ELEMENTS // max(1, (span.stop - span.start) * scaled.shape[1]))
    for cycle in range(1, CYCLES_COMPARED + 1):
        lags = np.arange(cycle * period - shift, cycle * period + shift + 1)
        for block in np.array_split(lags, -(-len(lags) // lags_at_once)):
            distances, _ = _row_distances(scaled, stamps, block, step, span)
            errors = _window_means(distances, starts - first, length)
            # The first lag reaching the smallest error wins, an earlier block's on a tie.
            best = np.argmin(np.where(np.isfinite(errors), errors, np.inf), axis=0)
            best_errors = errors[best, columns]
            better = np.isfinite(best_errors) & ~(best_errors >= per_cycle_errors[cycle - 1])
            per_cycle_errors[cycle - 1, better] = best_errors[better]
            per_cycle_lags[cycle - 1, better] = block[best[better]]
    present = np.isfinite(per_cycle_errors)
    per_cycle_errors[:, present.sum(axis=0) < MIN_EARLIER_CYCLES] = np.nan
    present = np.isfinite(per_cycle_errors)
    ordered = np.argsort(np.where(present, per_cycle_errors, np.inf), axis=0)
    median_place = np.maximum((present.sum(axis=0) - 1) // 2, 0)
    chosen = np.take_along_axis(ordered, median_place[None], axis=0)[0]
    window_errors = per_cycle_errors[chosen, columns]
    lags = per_cycle_lags[chosen, columns]
    rows = starts[:, None] - first + np.arange(length)[None]
    step_errors = np.zeros((len(starts), length))
    matched_rows = np.full((len(starts), length), -1)
    for lag in np.unique(lags[np.isfinite(window_errors)]):
        these = np.isfinite(window_errors) & (lags == lag)
        distances, earlier = _row_distances(scaled, stamps, np.array([lag]), step, span)
        step_errors[these] = np.nan_to_num(distances[0, rows[these]])
        matched_rows[these] = earlier[0, rows[these]]
    return CycleMatch(window_errors=window_errors, step_errors=step_errors, matched_rows=matched_rows)


def _row_distances(
    scaled: np.ndarray, stamps: np.ndarray, lags: np.ndarray, step: pd.Timedelta, span: slice
) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``lags`` (n_lags,) and the rows in ``span``, (n_lags, n_span): each row's largest
    absolute difference over channels from the row that many grid steps earlier (NaN where that row is
    not in the stream), and that row's position in the stream (-1 where none). All lags in one pass:
    a weekly cycle on a 10-minute grid has 203 shifts per earlier cycle, and one call per shift spent
    more time in Python than in arithmetic on a scheduled run's few new windows."""
    wanted = stamps[span][None, :] - lags[:, None] * step.value
    position = np.minimum(np.searchsorted(stamps, wanted), len(stamps) - 1)
    present = stamps[position] == wanted
    differences = np.abs(scaled[span][None, :, :] - scaled[position])
    distances = np.where(present, differences.max(axis=2), np.nan)
    return distances, np.where(present, position, -1)


def _window_means(row_values: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """(n_lags, n_windows) the mean of ``row_values`` (n_lags, n_rows) over each window's rows; NaN
    where one is NaN."""
    missing = np.cumsum(~np.isfinite(row_values), axis=1)
    missing = np.concatenate([np.zeros((len(row_values), 1), dtype=missing.dtype), missing], axis=1)
    totals = np.cumsum(np.nan_to_num(row_values), axis=1)
    totals = np.concatenate([np.zeros((len(row_values), 1)), totals], axis=1)
    means = (totals[:, starts + length] - totals[:, starts]) / length
    return np.where(missing[:, starts + length] - missing[:, starts] > 0, np.nan, means)
