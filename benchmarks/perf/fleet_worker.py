"""One measured step of ``benchmarks/fleet.py``, in a fresh process as a scheduler starts ``anomaly run``:

    python benchmarks/perf/fleet_worker.py run CONFIG.json OUT.json [--profile TOP.txt]
    python benchmarks/perf/fleet_worker.py floor CONFIG.json OUT.json

- ``run``: ``pipelines.execute(config, Command.RUN)``, the code ``anomaly run`` calls, with the CLI's
  logging and TensorFlow set-up; writes its seconds, the run's seconds per phase, counts, the peak
  RSS and whether TensorFlow was imported to OUT.json. With ``--profile`` the run goes under
  cProfile, and the functions with the most cumulative time go to TOP.txt.
- ``floor``: the I/O floor of a scheduled run: read the source with the same loader, then per stream
  read its state, pick the rows after its watermark, and write them as score rows (error 0) with the
  same bulk insert and watermark update in one transaction, under one ``runs`` row; no model, no
  preparation, no locks.

Peak RSS is the process's own high-water mark (``VmHWM``: ``getrusage``'s ``ru_maxrss`` would
report the parent's size, as Linux keeps it across the fork and exec that start this process), or,
where the run has worker processes (``executor = "processes:N"``), the largest sum of this process's
and its children's resident sets, sampled every ``SAMPLE_SECONDS``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import pstats
import sys
import threading
import time
from contextlib import nullcontext, suppress
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
from sqlalchemy import update

from anomaly.config import PipelineConfig, config_from_dict
from anomaly.data import load_source
from anomaly.storage.database import open_engine
from anomaly.storage.schema import Stream
from anomaly.storage.score_rows import ScoreRows, insert_scores
from anomaly.tensorflow_logs import quiet_tensorflow
from anomaly.timing import PhaseTimer
from pipelines.bookkeeping import finish_run, started_run
from pipelines.stream_job import read_state

PROFILE_LINES = 40
SAMPLE_SECONDS = 0.25


def measure_run(config: PipelineConfig, profile: Path | None) -> dict[str, Any]:
    """``anomaly run``'s code path over ``config``; what it did and how long each phase took."""
    from pipelines import Command, execute

    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    summary = execute(config, Command.RUN)
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    if profiler and profile:
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
        stats.sort_stats("tottime").print_stats(PROFILE_LINES)  # where the time is spent, not called from
        profile.write_text(text.getvalue(), encoding="utf-8")
    return {
        "seconds": seconds,
        "phases": summary.phase_seconds,
        "streams": len(summary.outcomes),
        "trained": sum(1 for o in summary.outcomes if o.work and o.work.trained_version),
        "failures": [o.error for o in summary.failures],
        "scores": summary.n_scores,
        "anomalies": summary.n_anomalies,
    }


def measure_floor(config: PipelineConfig) -> dict[str, Any]:
    """Read the new rows and write their score rows, as a run with no model would."""
    timer = PhaseTimer()
    started = time.perf_counter()
    engine = open_engine(config.storage.db)
    written = 0
    try:
        with started_run(engine, "floor", {}) as run_id:
            with timer.phase("load"):
                loaded = load_source(config.source)
            for raw in loaded.streams:
                with timer.phase("write"):
                    written += _write_new_rows(engine, run_id, raw)
            finish_run(
                engine,
                run_id,
                status="succeeded",
                n_streams=len(loaded.streams),
                n_windows=0,
                n_anomalies=0,
                error=None,
            )
    finally:
        engine.dispose()
    return {"seconds": time.perf_counter() - started, "phases": timer.seconds, "scores": written}


def _write_new_rows(engine: Any, run_id: int, raw: Any) -> int:
    """One stream's rows after its watermark as score rows, in one transaction; how many."""
    state = read_state(engine, raw.name)
    stamps = pd.DatetimeIndex(raw.frame["timestamp"])
    new = np.ones(len(stamps), dtype=bool)
    if state.last_scored_ts is not None:
        new = stamps > pd.Timestamp(state.last_scored_ts)
    if not new.any():
        return 0
    rows = ScoreRows(
        stream_id=state.stream_id,
        model_id=state.active_model_id,
        run_id=run_id,
        threshold=0.0,
        timestamps=stamps[new],
        values=raw.frame[raw.channels].to_numpy(dtype=float)[new],
        errors=np.zeros(int(new.sum())),
    )
    with engine.begin() as connection:
        insert_scores(connection, rows)
        last = rows.timestamps.max().to_pydatetime()
        connection.execute(update(Stream).where(Stream.id == state.stream_id).values(last_scored_ts=last))
    return len(rows)


def own_peak_rss_mb() -> float:
    """This process's resident-set high-water mark, in MB."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise OSError("no VmHWM in /proc/self/status: peak RSS is measured on Linux only")


class TreeRssSampler:
    """While entered, samples the sum of the resident sets of this process and all its descendants;
    ``peak_mb`` is the largest sum seen."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeRssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._done.is_set():
            total = 0
            for process in [me, *me.children(recursive=True)]:
                with suppress(psutil.NoSuchProcess):  # a worker that ended between listing and reading
                    total += process.memory_info().rss
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._done.wait(SAMPLE_SECONDS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("run", "floor"))
    parser.add_argument("config", type=Path, help="the pipeline configuration as JSON")
    parser.add_argument("out", type=Path, help="where the measurement goes, as JSON")
    parser.add_argument("--profile", type=Path, help="profile the run; its top functions go here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    quiet_tensorflow()
    config = config_from_dict(json.loads(args.config.read_text(encoding="utf-8")))
    # Listing a process's children reads every process's /proc entry: sampled only where there are any.
    tree = TreeRssSampler()
    with tree if config.executor != "in-process" else nullcontext():
        result = measure_run(config, args.profile) if args.mode == "run" else measure_floor(config)
    result.update(
        peak_rss_mb=max(own_peak_rss_mb(), tree.peak_mb),
        tensorflow_imported="tensorflow" in sys.modules,
    )
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
