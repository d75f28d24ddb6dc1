"""Downsampling keeps spikes and bounds the number of points, whatever the input length."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from dashboard.downsample import envelope_points, plan_buckets


def bucketed(t: np.ndarray, y: np.ndarray, start: datetime, end: datetime, n_buckets: int) -> pd.DataFrame:
    """What ``queries.stream_series`` computes in SQL, done in pandas for the test."""
    plan = plan_buckets(start, end, n_buckets)
    bucket = np.floor((t - plan.start_s) * plan.index_scale()).astype(int)
    frame = pd.DataFrame({"bucket": bucket, "t": pd.to_datetime(t, unit="s", utc=True), "y": y})
    return frame.groupby("bucket").agg(
        n=("t", "size"), t_first=("t", "min"), t_last=("t", "max"), y_min=("y", "min"), y_max=("y", "max")
    ).reset_index()


@pytest.mark.parametrize("n_points", [10, 1_000, 200_000])
def test_points_are_bounded_and_spikes_survive(n_points: int) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    end = start + timedelta(seconds=n_points - 1)
    t = start.timestamp() + np.arange(n_points, dtype=float)
    rng = np.random.default_rng(1)
    y = rng.normal(0, 1, n_points)
    up, down = n_points // 3, (2 * n_points) // 3 + 1
    y[up], y[down] = 50.0, -50.0
    points = envelope_points(bucketed(t, y, start, end, 500), ["y"])
    assert len(points) <= min(2 * 500, n_points)
    assert points["y"].max() == 50.0 and points["y"].min() == -50.0
    assert points["ts"].is_monotonic_increasing
    width = (end - start) / 500
    spike_ts = points.loc[points["y"].idxmax(), "ts"]
    assert abs(spike_ts - pd.Timestamp(t[up], unit="s", tz="UTC")) <= width


def test_every_timestamp_lands_in_a_planned_bucket() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    plan = plan_buckets(start, start + timedelta(days=1), 1000)
    last = np.floor((start + timedelta(days=1)).timestamp() - plan.start_s) * plan.index_scale()
    assert int(last) == 999


def test_empty_and_invalid_input() -> None:
    empty = envelope_points(pd.DataFrame(columns=["t_first", "t_last", "n", "y_min", "y_max"]), ["y"])
    assert list(empty.columns) == ["ts", "y"] and empty.empty
    with pytest.raises(ValueError):
        plan_buckets(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC), 0)
