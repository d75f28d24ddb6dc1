"""How much server-side downsampling saves the stream view on a 1,000,000-point stream.

Builds a temporary SQLite database with one univariate stream of N scored rows (a daily sine, noise and
a few one-sample spikes), then times, in the same run, the stream view's figure building two ways:

- downsampled: ``queries.stream_series`` (min/max per time bucket, in SQL) + ``charts.stream_figure``
  + the figure's JSON (what Streamlit ships to the browser);
- every point: all rows read + the same figure + its JSON.

It prints both times, their ratio, both JSON payload sizes, and checks that the spikes survive.
Usage: ``python benchmarks/dashboard_render.py [--points N] [--buckets B]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from anomaly.storage.database import open_engine, upgrade_schema
from anomaly.storage.schema import Model, Run, Score, Stream
from dashboard import charts, queries
from dashboard.downsample import DEFAULT_BUCKETS

START = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=1)
THRESHOLD = 1.0
INSERT_BATCH = 50_000


def build_stream(url: str, n_points: int, spikes: np.ndarray) -> None:
    """One stream of ``n_points`` rows with +100 spikes at ``spikes`` (row indices)."""
    engine = open_engine(url)
    upgrade_schema(engine)
    rng = np.random.default_rng(0)
    t = np.arange(n_points)
    values = 50 + 10 * np.sin(2 * np.pi * t / 1440) + rng.normal(0, 1, n_points)
    values[spikes] += 100
    errors = np.abs(rng.normal(0, 0.1, n_points))
    errors[spikes] = 5.0
    end = START + (n_points - 1) * STEP
    with engine.begin() as connection:
        connection.execute(insert(Run), [dict(id=1, started_at=START, finished_at=START, status="succeeded",
                                              command="run", config={}, n_streams=1)])
        connection.execute(insert(Stream), [dict(id=1, name="benchmark", channels=["value"],
                                                 first_ts=START, last_ts=end, last_scored_ts=end)])
        connection.execute(insert(Model), [dict(id=1, stream_id=1, version=1, created_at=START,
                                                trained_from=START, trained_to=end, params={},
                                                threshold=THRESHOLD, threshold_method="percentile",
                                                artifact="-", active=True)])
        for lo in range(0, n_points, INSERT_BATCH):
            hi = min(lo + INSERT_BATCH, n_points)
            connection.execute(insert(Score), [
                dict(stream_id=1, ts=START + i * STEP, model_id=1, value=float(values[i]),
                     error=float(errors[i]), threshold=THRESHOLD, is_anomaly=False, run_id=1)
                for i in range(lo, hi)
            ])
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--buckets", type=int, default=DEFAULT_BUCKETS)
    args = parser.parse_args()
    spikes = np.array([args.points // 7, args.points // 2 + 3, args.points - 5])

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        began = time.perf_counter()
        build_stream(url, args.points, spikes)
        print(f"built {args.points:,} rows in {time.perf_counter() - began:.1f} s")
        engine = open_engine(url)
        first, last = queries.score_extent(engine, 1)
        no_events = queries.anomalies(engine, stream_names=["benchmark"])

        began = time.perf_counter()
        series = queries.stream_series(engine, 1, ["value"], first, last, args.buckets)
        steps = queries.threshold_steps(engine, 1, first, last)
        downsampled_json = charts.stream_figure(series.points, ["value"], no_events, steps).to_json()
        downsampled_s = time.perf_counter() - began

        began = time.perf_counter()
        with engine.connect() as connection:
            rows = connection.execute(
                select(Score.ts, Score.value, Score.error).where(Score.stream_id == 1).order_by(Score.ts)
            ).all()
        every_point = pd.DataFrame(rows, columns=["ts", "value", "error"])
        full_json = charts.stream_figure(every_point, ["value"], no_events, steps).to_json()
        full_s = time.perf_counter() - began

    spike_values = set(np.round(every_point["value"].to_numpy()[spikes], 6))
    kept = spike_values <= set(np.round(series.points["value"].to_numpy(), 6))
    print(f"downsampled: {downsampled_s:6.2f} s, {len(series.points):>9,} points/trace, "
          f"JSON {len(downsampled_json) / 1e6:7.2f} MB (spikes kept: {kept})")
    print(f"every point: {full_s:6.2f} s, {len(every_point):>9,} points/trace, "
          f"JSON {len(full_json) / 1e6:7.2f} MB")
    print(f"ratio (every point / downsampled): time {full_s / downsampled_s:.1f}x, "
          f"payload {len(full_json) / len(downsampled_json):.0f}x")


if __name__ == "__main__":
    main()
