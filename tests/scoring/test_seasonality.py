"""Calendar cycles and the comparison of windows with the same phase of earlier cycles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly.scoring.seasonality import CYCLES_COMPARED, calendar_period, match_cycles

STEP = pd.Timedelta("20min")
DAY = 72  # rows of 20 minutes


def daily(n_days: float, *, seed: int = 0, noise: float = 0.05) -> np.ndarray:
    """(n, 1) a daily sine with noise on a 20-minute grid."""
    rng = np.random.default_rng(seed)
    n = int(n_days * DAY)
    return (np.sin(np.arange(n) * 2 * np.pi / DAY) + rng.normal(0, noise, n))[:, None]


def grid(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2026-01-01", periods=n, freq=STEP, tz="UTC")


def test_a_daily_cycle_is_found_in_grid_steps():
    assert calendar_period(daily(5), STEP) == DAY


def test_a_weekly_cycle_is_found_when_it_is_the_stronger():
    rng = np.random.default_rng(1)
    hourly = pd.Timedelta("1h")
    n = 24 * 7 * 4
    weekday = (np.arange(n) // 24) % 7 < 5
    values = np.where(weekday, 1.0, -1.0) + rng.normal(0, 0.1, n)
    assert calendar_period(values[:, None], hourly) == 24 * 7


@pytest.mark.parametrize(
    "values, why",
    [
        (np.random.default_rng(2).normal(size=(600, 1)), "noise"),
        (np.sin(np.arange(600) * 2 * np.pi / 50)[:, None], "a 50-step cycle is no calendar one"),
        (daily(3.5), "fewer than four days"),
        (np.ones((600, 1)), "a constant"),
    ],
)
def test_no_calendar_cycle(values, why):
    assert calendar_period(values, STEP) is None, why


def test_a_window_where_the_daily_rise_did_not_come_stands_out():
    values = daily(6)
    flat_from = 4 * DAY + 10
    values[flat_from : flat_from + 30] = values[flat_from]
    starts = np.arange(3 * DAY, len(values) - 16)
    match = match_cycles(values, grid(len(values)), STEP, DAY, starts, 16)
    flat = (starts > flat_from - 16) & (starts < flat_from + 30)
    assert match.window_errors[flat].max() > 3 * match.window_errors[~flat].max()


def test_a_cycle_that_starts_a_little_late_is_aligned_not_flagged():
    late = np.concatenate([daily(3, seed=3), np.roll(daily(3, seed=4), 3, axis=0)])
    starts = np.arange(3 * DAY, len(late) - 16)
    aligned = match_cycles(late, grid(len(late)), STEP, DAY, starts, 16)
    on_time = daily(6, seed=5)
    reference = match_cycles(on_time, grid(len(on_time)), STEP, DAY, starts, 16)
    assert aligned.window_errors.max() < 2 * reference.window_errors.max()


def test_an_odd_day_does_not_echo_into_the_next():
    values = daily(7)
    odd_day = slice(4 * DAY, 5 * DAY)
    values[odd_day] += 3.0
    starts = np.arange(len(values) - 16)
    match = match_cycles(values, grid(len(values)), STEP, DAY, starts, 16)
    next_day = (starts >= 5 * DAY) & (starts < 6 * DAY - 16)
    odd = (starts >= 4 * DAY) & (starts < 5 * DAY - 16)
    assert match.window_errors[odd].min() > 2.0
    assert match.window_errors[next_day].max() < 0.5


def test_windows_without_every_compared_cycle_get_no_error():
    # every error is the median of the same number of cycles, so a threshold learnt on the first
    # judged cycle holds for the later ones
    values = daily(CYCLES_COMPARED + 2)
    starts = np.arange(len(values) - 16)
    match = match_cycles(values, grid(len(values)), STEP, DAY, starts, 16)
    shift = round(0.1 * DAY)
    assert np.isnan(match.window_errors[starts < CYCLES_COMPARED * DAY - shift]).all()
    assert np.isfinite(match.window_errors[starts >= CYCLES_COMPARED * DAY + shift]).all()
    assert CYCLES_COMPARED >= 3  # a median that one odd cycle cannot move


def test_earlier_rows_are_found_by_timestamp_across_a_gap():
    values = daily(6)
    index = grid(len(values))
    kept = np.ones(len(values), dtype=bool)
    kept[2 * DAY + 40 : 2 * DAY + 60] = False  # a gap on the third day, after the window's phase
    values, index = values[kept], index[kept]
    starts = np.array([4 * DAY - 20 + 5])  # a window on the fifth day, by position after the gap
    match = match_cycles(values, index, STEP, DAY, starts, 16)
    matched_times = index[match.matched_rows[0]]
    offsets = (index[starts[0] + np.arange(16)] - matched_times) / STEP
    assert np.isfinite(match.window_errors[0]) and match.window_errors[0] < 0.2
    assert len(set(offsets)) == 1 and float(offsets[0]) % 1 == 0
    assert abs(float(offsets[0]) / DAY - round(float(offsets[0]) / DAY)) <= 0.1
