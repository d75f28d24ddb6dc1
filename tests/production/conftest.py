"""Fixtures for production-run tests: the same checks on a SQLite file and on PostgreSQL, a small
three-stream source, the tiny config as a TOML file for subprocess runs, and per-stream row counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from anomaly.config import PipelineConfig
from anomaly.storage.database import open_engine
from anomaly.storage.schema import Model, Run, Score, Stream
from tests.conftest import ROOT, UNJUDGED_ROWS, sensor_frame, tiny_config, write_long_csv

STREAM_NAMES = ("plant/a", "plant/b", "plant/c")
ROWS_PER_STREAM = 300
SCORED_ROWS = ROWS_PER_STREAM - UNJUDGED_ROWS  # the rows the default detector scores


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file database, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'anomaly.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def three_stream_config(tmp_path: Path, db_url: str) -> PipelineConfig:
    """The tiny config over three short clean streams, storing into ``db_url``."""
    data = write_long_csv(
        tmp_path / "sensors.csv",
        [sensor_frame(name, n=ROWS_PER_STREAM, seed=seed) for seed, name in enumerate(STREAM_NAMES)],
    )
    return tiny_config(data, tmp_path, storage={"db": db_url})


def write_toml(config: PipelineConfig, path: Path) -> Path:
    """``config`` as a TOML file for ``anomaly run`` (JSON strings, numbers and lists are valid TOML)."""
    lines = []
    for section, values in config.model_dump(mode="json").items():
        if not isinstance(values, dict):
            lines.insert(0, f"{section} = {json.dumps(values)}")
            continue
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items() if value is not None]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def start_cli(*args: str) -> subprocess.Popen[str]:
    """``python <args>`` from the project root, its output captured."""
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def wait_for(condition, *, timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    """Poll ``condition`` every 50 ms; fail after ``timeout`` s or when ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the process exited ({process.returncode}) before {what}: {process.stderr.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@dataclass(frozen=True)
class StreamRows:
    """What the database holds for one stream."""

    models: int
    scores: int
    distinct_timestamps: int


def rows_per_stream(url: str) -> dict[str, StreamRows]:
    """Models, scores and distinctly scored timestamps of every stored stream."""
    engine = open_engine(url)
    with engine.connect() as connection:
        result = {}
        for stream_id, name in connection.execute(select(Stream.id, Stream.name)).all():
            count = select(func.count())
            result[name] = StreamRows(
                models=connection.execute(count.where(Model.stream_id == stream_id)).scalar_one(),
                scores=connection.execute(count.where(Score.stream_id == stream_id)).scalar_one(),
                distinct_timestamps=connection.execute(
                    select(func.count(func.distinct(Score.ts))).where(Score.stream_id == stream_id)
                ).scalar_one(),
            )
    engine.dispose()
    return result


def runs_by_id(url: str) -> dict[int, Run]:
    """Every ``runs`` row by id."""
    engine = open_engine(url)
    with engine.connect() as connection:
        runs = {run.id: run for run in connection.execute(select(Run).order_by(Run.id)).all()}
    engine.dispose()
    return runs


def each_stream_done_once() -> dict[str, StreamRows]:
    """The expected ``rows_per_stream``: one model and one score per scored timestamp for every stream."""
    return dict.fromkeys(STREAM_NAMES, StreamRows(1, SCORED_ROWS, SCORED_ROWS))
