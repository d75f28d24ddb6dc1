"""The fleet benchmark: N streams through ``anomaly run`` on one machine, cold, scheduled and idle.

    .venv/bin/python benchmarks/fleet.py                     # N = 50, 100, 200 streams of 10,000 rows
    .venv/bin/python benchmarks/fleet.py --sizes 10          # one fleet of 10 streams
    .venv/bin/python benchmarks/fleet.py --quick             # N = 3 streams of 2,000 rows (CI smoke test)
    .venv/bin/python benchmarks/fleet.py --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python benchmarks/fleet.py --executor processes:2 --sizes 10
    .venv/bin/python benchmarks/fleet.py --sizes 1 --profile /tmp/fleet-profile

For each N it writes a synthetic fleet (``perf/fleet_data.py``: a directory of one CSV file per
stream, the sample's signals and anomaly kinds, labelled, with dirty rows) and runs, each in a fresh
process as a scheduler would start ``anomaly run`` (``perf/fleet_worker.py``), the code that command
calls, ``pipelines.execute(config, Command.RUN)``, with the default configuration (only the source,
the database, the models folder and ``--executor`` set):

1. cold: every stream's model is trained, its rows scored, its windows embedded, all written;
2. one hour of rows (6) is appended to every stream, and the I/O floor of a scheduled run is measured
   on a copy of the database: the same loader reads the source and the same bulk insert writes the
   new rows as score rows, with no model;
3. scheduled: the run again, which loads each stream's model and scores the new rows;
4. nothing new: the run once more.

Each step reports its seconds inside the process (``execute``) and of the whole process (Python's
start-up and imports included), seconds per stream in each phase (``RunSummary.phase_seconds``:
load, prepare, model_load, train, save, score, embed, write; ``other`` is the rest: schema check,
locks, run bookkeeping, state reads, TensorFlow's import where no phase holds it), rows per second
and the process's peak RSS. The stored anomalies are scored against the injected labels (event
F1, ``anomaly.evaluation.metrics.event_scores``). Since these machines' speed varies from day to
day, the float32 2048x2048 matmul rate is measured before and after (TensorFlow's, the library the
models run in, is the yardstick; NumPy's is reported beside it), and the cold figures are also stated
at 120 GFLOP/s: seconds x measured rate / 120.

Its last line is one JSON object: ``cold_minutes_1000_at_120gflops`` (1,000 streams at the largest
N's seconds per stream), ``cold_linearity`` (seconds per stream at the largest N over the smallest),
``scheduled_over_floor`` (at the largest N), ``peak_rss_mb`` per N, ``event_f1`` (at the largest N),
and every step's figures under ``fleets``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from perf.fleet_data import NEW_ROWS, append_new_rows, labels_path, write_fleet
from perf.flops import matmul_gflops

from anomaly.tensorflow_logs import quiet_tensorflow

BENCHMARKS = Path(__file__).resolve().parent
WORKER = BENCHMARKS / "perf" / "fleet_worker.py"
FULL_SIZES = (50, 100, 200)
FULL_ROWS = 10_000
QUICK_SIZES = (3,)
QUICK_ROWS = 2_000
REFERENCE_GFLOPS = 120.0
PROJECTED_STREAMS = 1_000
PHASES = ("load", "prepare", "model_load", "train", "save", "score", "embed", "write")
STEPS = ("cold", "floor", "scheduled", "nothing_new")


class FleetError(Exception):
    """A step of the benchmark failed; the message says which and shows its log's end."""


@dataclass(frozen=True)
class Databases:
    """Where each fleet's database lives: a SQLite file in the work folder, or a fresh database on
    the PostgreSQL server of ``admin_url``, dropped after the fleet."""

    admin_url: str | None
    work: Path

    @property
    def kind(self) -> str:
        return "sqlite" if self.admin_url is None else "postgresql"

    def fresh(self, name: str) -> str:
        """The URL of a new, empty database called ``name``."""
        if self.admin_url is None:
            return f"sqlite:///{self.work / f'{name}.db'}"
        database, url = self._unique(name)
        self._admin(f'CREATE DATABASE "{database}"')
        return url

    def copy(self, url: str, name: str) -> str:
        """A copy of the database at ``url`` (with nobody connected to it), called ``name``."""
        if self.admin_url is None:
            target = self.work / f"{name}.db"
            shutil.copyfile(url.removeprefix("sqlite:///"), target)
            return f"sqlite:///{target}"
        from sqlalchemy.engine import make_url

        database, copy_url = self._unique(name)
        self._admin(f'CREATE DATABASE "{database}" TEMPLATE "{make_url(url).database}"')
        return copy_url

    def drop(self, url: str) -> None:
        """Remove the database at ``url``."""
        if self.admin_url is None:
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
            return
        from sqlalchemy.engine import make_url

        self._admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def _unique(self, name: str) -> tuple[str, str]:
        """A database name no other run uses, and its URL on the admin URL's server."""
        from sqlalchemy.engine import make_url

        database = f"fleet_{name}_{uuid.uuid4().hex[:8]}"
        url = make_url(self.admin_url).set(database=database)
        return database, url.render_as_string(hide_password=False)

    def _admin(self, statement: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()


def _step(
    mode: str, config: dict[str, Any], folder: Path, label: str, profile: Path | None
) -> dict[str, Any]:
    """Run one worker process (``mode`` 'run' or 'floor') on ``config``; its measurement plus the
    process's own wall time (``process_seconds``)."""
    config_path, out, log = (folder / f"{label}.{suffix}" for suffix in ("config.json", "json", "log"))
    config_path.write_text(json.dumps(config), encoding="utf-8")
    command = [sys.executable, str(WORKER), mode, str(config_path), str(out)]
    if profile is not None:
        command += ["--profile", str(profile)]
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as stderr:
        completed = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=stderr, check=False)
    process_seconds = time.perf_counter() - started
    if completed.returncode != 0:
        tail = log.read_text(encoding="utf-8")[-3000:]
        raise FleetError(f"{label} failed with exit code {completed.returncode}:\n{tail}")
    result = json.loads(out.read_text(encoding="utf-8"))
    if result.get("failures"):
        raise FleetError(f"{label}: {len(result['failures'])} streams failed: {result['failures'][:3]}")
    result["process_seconds"] = process_seconds
    return result


def _event_scores(url: str, labels: Path) -> dict[str, Any]:
    """The stored anomalies of every stream against the injected labels, as event counts."""
    import pandas as pd
    from sqlalchemy import select

    from anomaly.data.labels import load_labels
    from anomaly.evaluation.metrics import event_scores
    from anomaly.storage.database import open_engine
    from anomaly.storage.schema import Anomaly, Stream

    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Stream.name, Anomaly.start_ts, Anomaly.end_ts).join(Anomaly)
            ).all()
    finally:
        engine.dispose()
    detected: dict[str, list] = {}
    for name, start, end in rows:
        detected.setdefault(name, []).append((pd.Timestamp(start), pd.Timestamp(end)))
    events = event_scores(detected, load_labels(labels))
    return {
        "event_f1": round(events.f1, 3),
        "precision": round(events.precision, 3),
        "recall": round(events.recall, 3),
        "found": events.found_labels,
        "labelled": events.total_labels,
        "false_events": events.false_events,
    }


def measure_fleet(
    n: int, rows: int, work: Path, databases: Databases, executor: str, profile: Path | None
) -> dict[str, Any]:
    """Every step for a fleet of ``n`` streams of ``rows`` rows; their figures."""
    folder = work / f"n{n}"
    data = folder / "data"
    streams = write_fleet(data, n, rows)
    input_rows = sum(len(stream.times) - NEW_ROWS for stream in streams)
    url = databases.fresh(f"n{n}")
    config = {
        "source": {"path": str(data)},
        "storage": {"db": url, "models": str(folder / "models")},
        "executor": executor,
    }
    profiled = (lambda step: profile / f"{step}_n{n}.txt") if profile else (lambda step: None)
    try:
        steps = {"cold": _step("run", config, folder, "cold", profiled("cold"))}
        new_rows = append_new_rows(data, streams)
        floor_url = databases.copy(url, f"n{n}_floor")
        try:
            floor_config = {**config, "storage": {**config["storage"], "db": floor_url}}
            steps["floor"] = _step("floor", floor_config, folder, "floor", None)
        finally:
            databases.drop(floor_url)
        steps["scheduled"] = _step("run", config, folder, "scheduled", profiled("scheduled"))
        steps["nothing_new"] = _step("run", config, folder, "nothing_new", None)
        events = _event_scores(url, labels_path(data))
    finally:
        databases.drop(url)
    rows_of = {"cold": input_rows, "floor": new_rows, "scheduled": new_rows, "nothing_new": 0}
    figures = {step: _step_figures(steps[step], n, rows_of[step]) for step in STEPS}
    return {
        "n": n,
        "rows_per_stream": rows,
        "input_rows": input_rows,
        "new_rows": new_rows,
        **events,
        "scheduled_over_floor": round(steps["scheduled"]["seconds"] / steps["floor"]["seconds"], 2),
        "scheduled_scores_equal_floor": steps["scheduled"]["scores"] == steps["floor"]["scores"],
        "peak_rss_mb": round(max(steps[step]["peak_rss_mb"] for step in STEPS if step != "floor"), 1),
        **figures,
    }


def _step_figures(step: dict[str, Any], n: int, rows: int) -> dict[str, Any]:
    """A step's measurement as reported: per stream, per phase, rounded."""
    phases = {name: step["phases"].get(name, 0.0) / n for name in PHASES}
    other = step["seconds"] / n - sum(phases.values())
    return {
        "seconds": round(step["seconds"], 3),
        "process_seconds": round(step["process_seconds"], 3),
        "seconds_per_stream": round(step["seconds"] / n, 4),
        "rows_per_s": round(rows / step["seconds"], 1),
        "phases_per_stream": {name: round(value, 4) for name, value in {**phases, "other": other}.items()},
        "scores": step["scores"],
        "anomalies": step.get("anomalies", 0),
        "trained": step.get("trained", 0),
        "peak_rss_mb": round(step["peak_rss_mb"], 1),
        "tensorflow_imported": step["tensorflow_imported"],
    }


def _table(fleets: list[dict[str, Any]], gflops: float) -> str:
    """Markdown: one row per fleet and step, seconds per stream in each phase."""
    head = (
        "| N | step | s | process s | s/stream | s/stream at 120 GFLOP/s | rows/s | "
        + " | ".join(PHASES)
        + " | other | peak RSS MB | TF |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for fleet in fleets:
        for step in STEPS:
            figures = fleet[step]
            phases = figures["phases_per_stream"]
            at_reference = figures["seconds_per_stream"] * gflops / REFERENCE_GFLOPS
            cells = [
                str(fleet["n"]),
                step,
                f"{figures['seconds']:.1f}",
                f"{figures['process_seconds']:.1f}",
                f"{figures['seconds_per_stream']:.3f}",
                f"{at_reference:.3f}",
                f"{figures['rows_per_s']:,.0f}",
                *(f"{phases[name]:.3f}" for name in (*PHASES, "other")),
                f"{figures['peak_rss_mb']:,.0f}",
                "yes" if figures["tensorflow_imported"] else "no",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _gflops() -> dict[str, float]:
    rates = matmul_gflops()
    return {name: round(rate, 1) for name, rate in rates.items()}


def run(
    sizes: list[int], rows: int, admin_url: str | None, executor: str, profile: Path | None
) -> dict[str, Any]:
    """Every fleet, the matmul rate before and after, and the headline figures."""
    load_start = os.getloadavg()
    before = _gflops()
    _say(f"matmul float32 2048^2: tensorflow {before['tensorflow']} GFLOP/s, numpy {before['numpy']}")
    fleets = []
    with tempfile.TemporaryDirectory(prefix="fleet-") as work:
        databases = Databases(admin_url, Path(work))
        for n in sizes:
            started = time.perf_counter()
            fleets.append(measure_fleet(n, rows, Path(work), databases, executor, profile))
            _say(
                f"N={n}: {time.perf_counter() - started:.0f} s, event F1 {fleets[-1]['event_f1']}, "
                f"scheduled/floor {fleets[-1]['scheduled_over_floor']}"
            )
    after = _gflops()
    gflops = (before["tensorflow"] + after["tensorflow"]) / 2
    _say(_table(fleets, gflops))
    smallest, largest = fleets[0], fleets[-1]
    cold_minutes = largest["cold"]["seconds_per_stream"] * PROJECTED_STREAMS / 60
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "database": databases.kind,
        "executor": executor,
        "rows_per_stream": rows,
        "sizes": sizes,
        "load_average_start": round(load_start[0], 2),
        "load_average_end": round(os.getloadavg()[0], 2),
        "matmul_gflops_tf_before": before["tensorflow"],
        "matmul_gflops_tf_after": after["tensorflow"],
        "matmul_gflops_numpy_before": before["numpy"],
        "matmul_gflops_numpy_after": after["numpy"],
        "measured_gflops": round(gflops, 1),
        "cold_minutes_1000": round(cold_minutes, 1),
        "cold_minutes_1000_at_120gflops": round(cold_minutes * gflops / REFERENCE_GFLOPS, 1),
        "cold_linearity": round(
            largest["cold"]["seconds_per_stream"] / smallest["cold"]["seconds_per_stream"], 3
        ),
        "scheduled_over_floor": largest["scheduled_over_floor"],
        "scheduled_seconds": largest["scheduled"]["seconds"],
        "floor_seconds": largest["floor"]["seconds"],
        "nothing_new_seconds": largest["nothing_new"]["seconds"],
        "nothing_new_imports_tensorflow": largest["nothing_new"]["tensorflow_imported"],
        "peak_rss_mb": {str(fleet["n"]): fleet["peak_rss_mb"] for fleet in fleets},
        "event_f1": largest["event_f1"],
        "fleets": fleets,
    }


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"N = {QUICK_SIZES}, {QUICK_ROWS:,} rows")
    parser.add_argument("--sizes", type=int, nargs="+", help=f"fleet sizes N (default {FULL_SIZES})")
    parser.add_argument("--rows", type=int, help=f"initial rows per stream (default {FULL_ROWS:,})")
    parser.add_argument("--db", metavar="ADMIN_URL", help="a PostgreSQL server's URL (default: SQLite files)")
    parser.add_argument("--executor", default="in-process", help="the config's executor (default in-process)")
    parser.add_argument("--profile", type=Path, help="profile the cold and scheduled runs into this folder")
    args = parser.parse_args(argv)
    quiet_tensorflow()
    sizes = sorted(args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES))
    rows = args.rows or (QUICK_ROWS if args.quick else FULL_ROWS)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    try:
        result = run(sizes, rows, args.db, args.executor, args.profile)
    except FleetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
