"""Does a scheduled run cost the same whatever the length of the history behind it?

For 1x and 4x the history it builds a SQLite source table (``readings``: ISO 8601 text timestamps,
stream, value; indexed on the timestamp, as a table of readings that grows for months is), makes the
cold ``anomaly run`` (``pipelines.execute``, untimed), then ``--repeats`` times appends one hour of
rows to every stream and times the scheduled run. The same scheduled run is also timed reading the
whole source (``pipelines.read_plan`` switched off), which is what every run did before. Streams are
a daily cycle with noise on a 10-minute grid; the detector is the rolling z-score (``--detector``
takes any registered one; the LSTM is then trained at its configured size, which takes minutes).

It prints one line per history length and, last, one JSON line: the median seconds of the scheduled
runs at 1x and 4x, their ratio (the target: at most 1.2), and the same for whole reads.

    .venv/bin/python benchmarks/scheduled_history.py [--streams 40] [--days 28] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

from anomaly.config import PipelineConfig, config_from_dict
from pipelines import Command, execute

STEP = pd.Timedelta("10min")
START = pd.Timestamp("2025-01-01", tz="UTC")
HOUR_ROWS = 6


def rows_between(streams: int, first: int, last: int, seed: int) -> list[tuple[str, str, float]]:
    """Source rows of grid steps ``first`` .. ``last - 1`` of every stream: a daily sine, noise."""
    rng = np.random.default_rng([seed, first])
    steps = np.arange(first, last)
    stamps = (START + pd.to_timedelta(steps * STEP.value, unit="ns")).strftime("%Y-%m-%dT%H:%M:%SZ").tolist()
    rows = []
    for place in range(streams):
        values = np.sin(2 * np.pi * steps / 144 + place) * (1 + place % 3) + rng.normal(0, 0.1, len(steps))
        rows += zip(stamps, [f"sensor-{place:04d}"] * len(steps), values.tolist(), strict=True)
    return rows


def append(path: Path, rows: list[tuple[str, str, float]]) -> None:
    with sqlite3.connect(path) as connection:
        connection.executemany("INSERT INTO readings VALUES (?, ?, ?)", rows)
    connection.close()


def build_source(path: Path, streams: int, steps: int) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE readings (timestamp TEXT, stream TEXT, value REAL)")
        connection.execute("CREATE INDEX readings_timestamp ON readings (timestamp)")
    connection.close()
    append(path, rows_between(streams, 0, steps, seed=0))


def pipeline(workdir: Path, detector: str) -> PipelineConfig:
    return config_from_dict(
        {
            "detector": detector,
            "source": {"url": f"sqlite:///{workdir / 'source.db'}", "table": "readings"},
            "storage": {"db": f"sqlite:///{workdir / 'anomaly.db'}", "models": str(workdir / "models")},
        }
    )


def timed_run(config: PipelineConfig) -> float:
    started = time.perf_counter()
    summary = execute(config, Command.RUN)
    seconds = time.perf_counter() - started
    if summary.status != "succeeded" or summary.n_scores == 0:
        raise SystemExit(f"scheduled run did not score new rows: {summary.status}, {summary.failures[:1]}")
    return seconds


def measure_history(streams: int, steps: int, repeats: int, detector: str) -> dict[str, float]:
    """Median seconds of the scheduled run, reading part of the source and all of it, after a cold run
    over ``steps`` grid steps of ``streams`` streams."""
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        build_source(workdir / "source.db", streams, steps)
        config = pipeline(workdir, detector)
        started = time.perf_counter()
        execute(config, Command.RUN)
        cold = time.perf_counter() - started
        narrowed, whole, end = [], [], steps
        warm_up = []  # the first scheduled run of a process also imports what scoring needs
        for timings in [warm_up] + [narrowed, whole] * repeats:  # alternately: both see the machine alike
            append(workdir / "source.db", rows_between(streams, end, end + HOUR_ROWS, seed=0))
            end += HOUR_ROWS
            if timings is not whole:
                timings.append(timed_run(config))
                continue
            with mock.patch("pipelines.runner.plan_reads", lambda *args: None):
                timings.append(timed_run(config))
    return {"cold": cold, "scheduled": statistics.median(narrowed), "whole_read": statistics.median(whole)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=40)
    parser.add_argument("--days", type=int, default=28, help="history at 1x, in days of 10-minute rows")
    parser.add_argument("--repeats", type=int, default=3, help="scheduled runs timed per history length")
    parser.add_argument("--detector", default="rolling_zscore")
    args = parser.parse_args()
    logging.getLogger("anomaly").setLevel(logging.WARNING)

    results = {}
    for times in (1, 4):
        steps = args.days * 144 * times
        results[times] = measure_history(args.streams, steps, args.repeats, args.detector)
        print(
            f"{times}x history ({steps:,} rows per stream, {args.streams} streams): cold run "
            f"{results[times]['cold']:.1f} s, scheduled run {results[times]['scheduled']:.2f} s, "
            f"the same reading the whole source {results[times]['whole_read']:.2f} s",
            flush=True,
        )
    ratio = results[4]["scheduled"] / results[1]["scheduled"]
    whole_ratio = results[4]["whole_read"] / results[1]["whole_read"]
    print(
        f"scheduled run at 4x over 1x history: {ratio:.2f} (target: at most 1.2); "
        f"whole reads: {whole_ratio:.2f}"
    )
    print(
        json.dumps(
            {
                "detector": args.detector,
                "streams": args.streams,
                "rows_per_stream_1x": args.days * 144,
                "new_rows_per_stream": HOUR_ROWS,
                "scheduled_seconds_1x": round(results[1]["scheduled"], 3),
                "scheduled_seconds_4x": round(results[4]["scheduled"], 3),
                "scheduled_ratio_4x_over_1x": round(ratio, 3),
                "whole_read_seconds_1x": round(results[1]["whole_read"], 3),
                "whole_read_seconds_4x": round(results[4]["whole_read"], 3),
                "whole_read_ratio_4x_over_1x": round(whole_ratio, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
