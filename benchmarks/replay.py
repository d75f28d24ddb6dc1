"""Replay the bundled sample data in daily chunks, as a daily scheduled ``anomaly run`` would see it.

The 21 days of ``sample_data/sensors.csv`` are cut into a first chunk of 14 days (so that the models
train on enough data) and then one chunk per day; each chunk is written to its own file and fed to

    anomaly run pipelines/sample.toml --data <chunk file> --db sqlite:///<tmp>/replay.db --models <tmp>

one process per run, as cron would start it. Then the same config runs once over the whole file
(the one-shot reference) and the two databases are compared.

Printed: per run the wall time of the process (start-up, TensorFlow import and all), the time the
run itself recorded (``runs.finished_at - started_at``), the scores, windows and events it added and
the models it trained; the total; then the checks (no duplicate scores, the replay scored the same
timestamps as the one-shot run) and the events of both, matched by overlap, with the labelled
anomalies (``sample_data/labels.json``) each of them found.

    .venv/bin/python benchmarks/replay.py [--first-days 14] [--layout new_rows|growing]
        [--config pipelines/sample.toml] [--workdir DIR] [--one-shot-db URL | --no-one-shot]

``--layout growing`` feeds one file that grows by a day per run instead of one file per day.
``--one-shot-db`` reuses the database of an earlier full run of the same config (e.g. one made by
``anomaly run pipelines/sample.toml``) instead of training the one-shot models again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from anomaly.storage.database import open_engine  # noqa: E402
from anomaly.storage.schema import Anomaly, Model, Run, Score, Stream, Window  # noqa: E402

DATA = ROOT / "sample_data" / "sensors.csv"
LABELS = ROOT / "sample_data" / "labels.json"


def chunk_files(source: Path, workdir: Path, first_days: int, layout: str) -> list[tuple[str, Path, int]]:
    """Write the chunk files (rows in their original order); (label, path, rows) for each run."""
    frame = pd.read_csv(source, dtype={"timestamp": str})
    ts = pd.to_datetime(frame["timestamp"], utc=True)
    start = ts.min().normalize()
    days = int((ts.max() - start) / timedelta(days=1)) + 1
    bounds = [start + pd.Timedelta(days=day) for day in range(first_days, days + 1)]
    chunks = []
    for index, end in enumerate(bounds):
        begin = start if index == 0 or layout == "growing" else bounds[index - 1]
        keep = (ts >= begin) & (ts < end)
        path = workdir / (f"chunk_{index:02d}.csv" if layout == "new_rows" else "growing.csv")
        frame[keep].to_csv(path, index=False)
        new_from = start if index == 0 else bounds[index - 1]
        label = f"{new_from:%Y-%m-%d} .. {end - pd.Timedelta(minutes=10):%Y-%m-%d}"
        chunks.append((label, path, int(keep.sum())))
    return chunks


def anomaly_run(config: Path, db: str, models: Path, data: Path | None = None) -> tuple[float, str]:
    """Run ``anomaly run`` in a fresh process; its wall time and the last line of its stderr."""
    command = [sys.executable, "-m", "anomaly.cli", "run", str(config), "--db", db, "--models", str(models)]
    if data is not None:
        command += ["--data", str(data)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"anomaly run failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    return seconds, (done.stderr.strip().splitlines() or [""])[-1]


def run_rows(db: str) -> tuple[dict[int, dict], int]:
    """Per run id: recorded seconds and the scores, windows and events it added; the models in all."""
    engine = open_engine(db)
    with engine.connect() as connection:
        result = {
            run.id: {"seconds": (run.finished_at - run.started_at).total_seconds(), "status": run.status}
            for run in connection.execute(select(Run).order_by(Run.id))
        }
        for table, key in ((Score, "scores"), (Window, "windows"), (Anomaly, "events")):
            for run_id, count in connection.execute(
                select(table.run_id, func.count()).group_by(table.run_id)
            ):
                result[run_id][key] = count
        n_models = connection.execute(select(func.count()).select_from(Model)).scalar_one()
    engine.dispose()
    for row in result.values():
        for key in ("scores", "windows", "events"):
            row.setdefault(key, 0)
    return result, n_models


def scored_timestamps(db: str) -> tuple[dict[str, set[datetime]], int]:
    """Each stream's scored timestamps, and the number of score rows in all (duplicates count twice)."""
    engine = open_engine(db)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Stream.name, Score.ts).join(Stream, Stream.id == Score.stream_id)
        ).all()
    engine.dispose()
    stamps = defaultdict(set)
    for name, ts in rows:
        stamps[name].add(ts)
    return dict(stamps), len(rows)


def events(db: str) -> dict[str, list]:
    """Each stream's anomaly events (start_ts, end_ts, peak_ts, severity), in time order."""
    engine = open_engine(db)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Stream.name, Anomaly.start_ts, Anomaly.end_ts, Anomaly.peak_ts, Anomaly.severity)
            .join(Stream, Stream.id == Anomaly.stream_id)
            .order_by(Stream.name, Anomaly.start_ts)
        ).all()
    engine.dispose()
    found = defaultdict(list)
    for row in rows:
        found[row.name].append(row)
    return dict(found)


def overlapping(start, end, found: list) -> list:
    return [e for e in found if e.start_ts <= end and start <= e.end_ts]


def compare(replay_db: str, one_shot_db: str) -> None:
    replay_ts, replay_rows = scored_timestamps(replay_db)
    one_ts, one_rows = scored_timestamps(one_shot_db)
    distinct = sum(len(s) for s in replay_ts.values())
    print(
        f"\nscores: replay {replay_rows} rows ({distinct} distinct stream/timestamp pairs), "
        f"one-shot {one_rows}"
    )
    for name in sorted(set(replay_ts) | set(one_ts)):
        only_replay = replay_ts.get(name, set()) - one_ts.get(name, set())
        only_one = one_ts.get(name, set()) - replay_ts.get(name, set())
        if only_replay or only_one:
            print(
                f"  {name}: {len(only_replay)} timestamps scored only by the replay, "
                f"{len(only_one)} only by the one-shot run"
            )

    replay, one_shot = events(replay_db), events(one_shot_db)
    labels = {
        name: [(pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC")) for a, b in windows]
        for name, windows in json.loads(LABELS.read_text()).items()
    }
    print("\nevents per stream (matched = overlaps an event of the other run; labels = labelled windows hit)")
    print(
        f"{'stream':32} {'replay':>7} {'matched':>8} {'one-shot':>9} {'matched':>8} {'labels replay':>14} "
        f"{'labels one-shot':>16}"
    )
    totals = defaultdict(int)
    for name in sorted(set(replay) | set(one_shot) | set(labels)):
        r, o, windows = replay.get(name, []), one_shot.get(name, []), labels.get(name, [])
        r_matched = sum(bool(overlapping(e.start_ts, e.end_ts, o)) for e in r)
        o_matched = sum(bool(overlapping(e.start_ts, e.end_ts, r)) for e in o)
        r_hits = sum(bool(overlapping(a, b, r)) for a, b in windows)
        o_hits = sum(bool(overlapping(a, b, o)) for a, b in windows)
        for key, value in (
            ("r", len(r)),
            ("rm", r_matched),
            ("o", len(o)),
            ("om", o_matched),
            ("rh", r_hits),
            ("oh", o_hits),
            ("labels", len(windows)),
        ):
            totals[key] += value
        print(
            f"{name:32} {len(r):7d} {r_matched:8d} {len(o):9d} {o_matched:8d} "
            f"{f'{r_hits}/{len(windows)}':>14} {f'{o_hits}/{len(windows)}':>16}"
        )
    replay_hits = f"{totals['rh']}/{totals['labels']}"
    one_shot_hits = f"{totals['oh']}/{totals['labels']}"
    print(
        f"{'total':32} {totals['r']:7d} {totals['rm']:8d} {totals['o']:9d} {totals['om']:8d} "
        f"{replay_hits:>14} {one_shot_hits:>16}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "pipelines" / "sample.toml")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--first-days", type=int, default=14, help="days in the first (training) chunk")
    parser.add_argument("--layout", choices=["new_rows", "growing"], default="new_rows")
    parser.add_argument("--workdir", type=Path, help="keep chunk files, databases and models here")
    reference = parser.add_mutually_exclusive_group()
    reference.add_argument("--one-shot-db", help="database of an earlier full run to compare with")
    reference.add_argument("--no-one-shot", action="store_true", help="replay only")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="anomaly_replay_"))
    workdir.mkdir(parents=True, exist_ok=True)
    replay_db = f"sqlite:///{workdir / 'replay.db'}"
    print(f"replaying {args.data.name} with {args.config.name}, layout {args.layout}, work dir {workdir}")
    chunks = chunk_files(args.data, workdir, args.first_days, args.layout)
    print(
        f"\n{'run':>3} {'new rows of':24} {'file rows':>9} {'wall s':>7} {'in-run s':>8} "
        f"{'scores':>7} {'windows':>7} {'events':>6}"
    )
    total = 0.0
    for index, (label, path, n_rows) in enumerate(chunks, start=1):
        seconds, _ = anomaly_run(args.config, replay_db, workdir / "models_replay", path)
        total += seconds
        row = run_rows(replay_db)[0][index]
        print(
            f"{index:3d} {label:24} {n_rows:9d} {seconds:7.1f} {row['seconds']:8.1f} "
            f"{row['scores']:7d} {row['windows']:7d} {row['events']:6d}",
            flush=True,
        )
    _, n_models = run_rows(replay_db)
    print(f"total replay wall time {total:.1f} s over {len(chunks)} runs; {n_models} models trained")

    if args.no_one_shot:
        return
    one_shot_db = args.one_shot_db
    if one_shot_db is None:
        one_shot_db = f"sqlite:///{workdir / 'one_shot.db'}"
        seconds, _ = anomaly_run(args.config, one_shot_db, workdir / "models_one_shot", args.data)
        print(f"one-shot run over all {args.data.name}: {seconds:.1f} s wall")
    compare(replay_db, one_shot_db)


if __name__ == "__main__":
    main()
