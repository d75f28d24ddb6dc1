"""Turning per-bucket extremes into the few points a chart needs, so long series stay fast.

A chart about 1,500 pixels wide cannot show more than one vertical stroke per pixel column. The
database therefore groups the visible range into about that many equal time buckets and returns, per
bucket, its first and last timestamp and the minimum and maximum of every plotted column (see
``queries.stream_series``). Drawing the minimum at the bucket's first timestamp and the maximum at its
last gives that stroke: a spike of one sample survives as the bucket's maximum (or minimum), displaced
by less than one bucket, i.e. less than a pixel, while a million rows become at most
``2 * n_buckets`` points. This is the min/max (M4-like) rule of Jugel et al., done in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

DEFAULT_BUCKETS = 1500


@dataclass(frozen=True)
class BucketPlan:
    """Equal-width time buckets over ``[start_s, end_s]`` (epoch seconds); bucket ``i`` starts at
    ``start_s + i * width_s``."""

    start_s: float
    width_s: float
    n_buckets: int

    def index_scale(self) -> float:
        """Buckets per second: ``floor((t - start_s) * index_scale())`` is a timestamp's bucket."""
        return 1.0 / self.width_s


def plan_buckets(start: datetime, end: datetime, n_buckets: int = DEFAULT_BUCKETS) -> BucketPlan:
    """Buckets covering ``start..end``; the last timestamp falls in bucket ``n_buckets - 1``.

    The width is stretched by a tiny epsilon so that ``end`` itself does not open one extra bucket.
    """
    if n_buckets < 1:
        raise ValueError(f"n_buckets must be at least 1, got {n_buckets}")
    start_s = start.timestamp()
    span_s = max(end.timestamp() - start_s, 1e-3)
    return BucketPlan(start_s=start_s, width_s=span_s * (1 + 1e-9) / n_buckets, n_buckets=n_buckets)


def envelope_points(buckets: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per-bucket extremes as plottable points, in time order.

    ``buckets`` has one row per non-empty bucket with ``t_first``/``t_last`` (UTC timestamps), ``n``
    (rows in the bucket) and ``<column>_min``/``<column>_max`` for each of ``columns``. The result has
    a ``ts`` column (UTC) and one column per name in ``columns``: two rows per bucket holding more than
    one row (minimum first, then maximum), one row for single-row buckets, whose minimum is their value.
    """
    if buckets.empty:
        return pd.DataFrame({"ts": pd.Series([], dtype="datetime64[ns, UTC]"), **{c: [] for c in columns}})
    buckets = buckets.sort_values("t_first")
    lows = pd.DataFrame({"ts": buckets["t_first"].to_numpy(), "order": 0})
    highs = pd.DataFrame({"ts": buckets["t_last"].to_numpy(), "order": 1})
    for column in columns:
        lows[column] = buckets[f"{column}_min"].to_numpy(dtype=float)
        highs[column] = buckets[f"{column}_max"].to_numpy(dtype=float)
    lows["bucket"] = highs["bucket"] = np.arange(len(buckets))
    highs = highs[buckets["n"].to_numpy() > 1]
    points = pd.concat([lows, highs]).sort_values(["bucket", "order"], kind="stable")
    points["ts"] = pd.to_datetime(points["ts"], utc=True)
    return points.drop(columns=["order", "bucket"]).reset_index(drop=True)
