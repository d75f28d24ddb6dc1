"""A small but realistic database, as the pipeline would write it, for the dashboard tests.

Three streams (one multivariate with three channels), two model versions with different thresholds for
one stream, five anomalies, stored windows with embeddings, clusters, 2-D positions and
reconstructions, and a failed run with its error message.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from anomaly.storage.database import open_engine, upgrade_schema
from anomaly.storage.schema import Anomaly, Model, Run, Score, Stream, Window

ROOT = Path(__file__).resolve().parents[2]

START = datetime(2024, 3, 1, tzinfo=UTC)
WINDOW_LENGTH = 32
EMBEDDING_SIZE = 8
APP_PATH = ROOT / "dashboard" / "app.py"


@dataclass(frozen=True)
class StreamSpec:
    """How to synthesise one stream: its shape, its anomalies (index, kind) and its model versions."""

    name: str
    channels: list[str]
    step: timedelta
    n_points: int
    anomalies: list[tuple[int, str]]
    thresholds: list[float]


STREAMS = [
    StreamSpec("machine_temperature", ["value"], timedelta(minutes=5), 2400,
               [(700, "spike"), (1900, "drop")], [0.8, 1.2]),
    StreamSpec("realKnownCause/nyc_taxi.csv", ["value"], timedelta(minutes=30), 1500,
               [(1000, "drop")], [0.5]),
    StreamSpec("pump_station_7", ["pressure", "flow", "vibration"], timedelta(minutes=10), 1800,
               [(500, "spike"), (1400, "drop")], [0.9]),
]


def _signal(spec: StreamSpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Values with the anomalies injected and the model's view of normal (its reconstruction), both
    ``(n_points, n_channels)``."""
    t = np.arange(spec.n_points)
    normal = np.stack(
        [50 + 10 * (c + 1) * np.sin(2 * np.pi * t / 288 + c) for c in range(len(spec.channels))], axis=1
    )
    values = normal + rng.normal(0, 1.0, normal.shape)
    scale = normal.std(axis=0)
    for index, kind in spec.anomalies:
        channel = len(spec.channels) - 1 if kind == "spike" else 0
        if kind == "spike":
            values[index : index + 3, channel] += 5 * scale[channel]
        else:
            values[index : index + 20, channel] -= 3 * scale[channel]
    return values, normal


def build_database(url: str) -> None:
    """Create the schema at ``url`` and fill it with the synthetic streams."""
    engine = open_engine(url)
    upgrade_schema(engine)
    rng = np.random.default_rng(7)
    centres = rng.normal(0, 3, (4, EMBEDDING_SIZE))
    with Session(engine) as session:
        runs = [
            Run(started_at=START + timedelta(days=9), finished_at=START + timedelta(days=9, minutes=4),
                status="succeeded", command="run", config={"data": "sample_data"}, n_streams=3,
                n_windows=120, n_anomalies=4),
            Run(started_at=START + timedelta(days=10), finished_at=START + timedelta(days=10, seconds=3),
                status="failed", command="run", config={"data": "sample_data"},
                error="sample_data/nyc_taxi.csv, column 'value', row 1207: 'n/a' is not a number"),
            Run(started_at=START + timedelta(days=11), finished_at=START + timedelta(days=11, minutes=2),
                status="succeeded", command="run", config={"data": "sample_data"}, n_streams=3,
                n_windows=40, n_anomalies=1),
        ]
        session.add_all(runs)
        session.flush()
        for spec in STREAMS:
            _add_stream(session, spec, runs, centres, rng)
        session.commit()
    engine.dispose()


def _add_stream(
    session: Session, spec: StreamSpec, runs: list[Run], centres: np.ndarray, rng: np.random.Generator
) -> None:
    values, normal = _signal(spec, rng)
    timestamps = [START + i * spec.step for i in range(spec.n_points)]
    stream = Stream(name=spec.name, channels=spec.channels, frequency=f"{int(spec.step.seconds / 60)}min",
                    first_ts=timestamps[0], last_ts=timestamps[-1], last_scored_ts=timestamps[-1])
    session.add(stream)
    session.flush()
    # Each model version scores an equal share of the series; the last one is active.
    n_versions = len(spec.thresholds)
    bounds = np.linspace(0, spec.n_points, n_versions + 1).astype(int)
    models = []
    for version, threshold in enumerate(spec.thresholds, start=1):
        lo, hi = bounds[version - 1], bounds[version] - 1
        model = Model(stream_id=stream.id, version=version, created_at=runs[2 * (version - 1)].started_at,
                      trained_from=timestamps[lo], trained_to=timestamps[hi],
                      params={"window": WINDOW_LENGTH, "units": 16}, threshold=threshold,
                      threshold_method="percentile", val_loss=0.05, artifact=f"models/{stream.id}/{version}",
                      active=version == n_versions)
        session.add(model)
        models.append(model)
    session.flush()

    def model_at(index: int) -> tuple[Model, Run]:
        version = int(np.searchsorted(bounds, index, side="right")) - 1
        return models[version], runs[2 * version]

    errors = 0.6 * np.sqrt((((values - normal) / normal.std(axis=0)) ** 2).mean(axis=1))
    flagged = np.zeros(spec.n_points, dtype=bool)
    anomaly_rows = []
    for number, (index, kind) in enumerate(spec.anomalies):
        length = 3 if kind == "spike" else 20
        lo, hi = index, index + length - 1
        flagged[lo : hi + 1] = True
        model, run = model_at(index)
        peak = lo + int(np.argmax(errors[lo : hi + 1]))
        anomaly = Anomaly(stream_id=stream.id, model_id=model.id, run_id=run.id, start_ts=timestamps[lo],
                          end_ts=timestamps[hi], peak_ts=timestamps[peak], peak_error=float(errors[peak]),
                          threshold=model.threshold, severity=float(errors[peak] / model.threshold),
                          n_windows=2, status="dismissed" if number == 1 else "open",
                          note="maintenance, known" if number == 1 else None)
        session.add(anomaly)
        anomaly_rows.append((anomaly, kind, peak))
    session.flush()

    multivariate = len(spec.channels) > 1
    session.add_all(
        Score(stream_id=stream.id, ts=timestamps[i], model_id=model_at(i)[0].id,
              value=None if multivariate else float(values[i, 0]),
              values=[float(v) for v in values[i]] if multivariate else None,
              error=float(errors[i]), threshold=model_at(i)[0].threshold, is_anomaly=bool(flagged[i]),
              run_id=model_at(i)[1].id)
        for i in range(spec.n_points)
    )

    def window(lo: int, anomaly: Anomaly | None, cluster: int) -> Window:
        model, run = model_at(lo)
        hi = min(lo + WINDOW_LENGTH, spec.n_points)
        position = centres[cluster] + rng.normal(0, 0.4, EMBEDDING_SIZE)
        return Window(stream_id=stream.id, model_id=model.id, run_id=run.id, start_ts=timestamps[lo],
                      end_ts=timestamps[hi - 1], error=float(errors[lo:hi].mean()),
                      is_anomaly=anomaly is not None, anomaly_id=None if anomaly is None else anomaly.id,
                      embedding=[float(v) for v in position], cluster=cluster,
                      x=float(position[0]), y=float(position[1]),
                      reconstruction=[[float(v) for v in row] for row in normal[lo:hi]])

    for lo in range(0, spec.n_points - WINDOW_LENGTH, 150):
        if not flagged[lo : lo + WINDOW_LENGTH].any():
            session.add(window(lo, None, cluster=int(lo // 150) % 2))
    for anomaly, kind, peak in anomaly_rows:
        for offset in (24, 12):
            session.add(window(max(peak - offset, 0), anomaly, cluster=2 if kind == "spike" else 3))


@pytest.fixture(scope="session")
def fixture_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic database, built once per test session; tests that write use a copy."""
    path = tmp_path_factory.mktemp("dashboard-db") / "anomaly.db"
    build_database(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(fixture_db_file: Path, tmp_path: Path) -> str:
    """A private copy of the fixture database, so a test may write to it."""
    path = tmp_path / "anomaly.db"
    shutil.copy(fixture_db_file, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_readonly_engine(postgres_url: str) -> Iterator[Engine]:
    """The fixture database on PostgreSQL, reached through a role that may only read, plus update an
    anomaly's verdict: status, note, who and when (the dashboard's one write)."""
    build_database(postgres_url)
    role = f"dashboard_reader_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"'))
        verdict = "status, note, verdict_by, verdict_at"
        connection.execute(text(f'GRANT UPDATE ({verdict}) ON anomalies TO "{role}"'))
    engine = open_engine(postgres_url.replace("postgres@", f"{role}@"))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP OWNED BY "{role}"'))
            connection.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql-readonly"])
def engine(request: pytest.FixtureRequest, db_url: str) -> Iterator[Engine]:
    """The fixture database as the dashboard's queries see it: a SQLite file, or PostgreSQL through a
    read-only role."""
    if request.param == "postgresql-readonly":
        yield request.getfixturevalue("postgres_readonly_engine")
        return
    engine = open_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pipeline_db_url(sample_run_db: str) -> str:
    """The database the browser test drives: one filled by the real sample pipeline."""
    return sample_run_db
