"""Shared fixtures: small synthetic sensor data and a tiny, fast pipeline configuration.

Tests never read ../shared/ (a user's machine has none); they build their data here or use the
bundled sample data.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from anomaly.config import PipelineConfig, config_from_dict

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from anomaly.data.types import PreparedStream

ROOT = Path(__file__).resolve().parents[1]


def sensor_frame(
    name: str, n: int = 600, *, seed: int = 0, spike_at: int | None = None, freq: str = "10min"
) -> pd.DataFrame:
    """A long-layout frame of one stream: a daily-ish sine with noise and an optional spike."""
    rng = np.random.default_rng(seed)
    timestamps = pd.date_range("2026-01-01", periods=n, freq=freq, tz="UTC")
    values = np.sin(np.arange(n) * 2 * np.pi / 72) + rng.normal(0, 0.05, n)
    if spike_at is not None:
        values[spike_at : spike_at + 3] += 6.0
    return pd.DataFrame(
        {"timestamp": timestamps.strftime("%Y-%m-%dT%H:%M:%SZ"), "stream": name, "value": values}
    )


def prepared_stream(frame: pd.DataFrame, window: int = 16) -> PreparedStream:
    """``frame`` (the layout ``sensor_frame`` makes) as a prepared stream, ready for a detector."""
    from anomaly.config import PreparationConfig
    from anomaly.data import prepare_stream
    from anomaly.data.types import RawStream

    frame = frame.drop(columns="stream").assign(timestamp=lambda f: pd.to_datetime(f.timestamp, utc=True))
    raw = RawStream(name="s", frame=frame, rows=np.arange(2, len(frame) + 2), origin="test")
    return prepare_stream(raw, PreparationConfig(), window_length=window)


def write_long_csv(path: Path, frames: list[pd.DataFrame]) -> Path:
    """Write frames as one long CSV and return its path."""
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    return path


def insert_stream_with_model(
    connection: Connection,
    name: str,
    when: datetime,
    *,
    channels: Sequence[str] = ("value",),
    params: dict | None = None,
    artifact: str = "-",
    **stream: object,
) -> tuple[int, int]:
    """A stream row and an active version-1 model of it, trained at ``when``: what storage tests need
    their score, window and anomaly rows to point at. ``stream`` adds columns to the stream row.
    Returns (stream_id, model_id)."""
    from sqlalchemy import insert

    from anomaly.storage.schema import Model, Stream

    stream_id = connection.execute(
        insert(Stream).values(name=name, channels=list(channels), **stream).returning(Stream.id)
    ).scalar_one()
    model_id = connection.execute(
        insert(Model)
        .values(
            stream_id=stream_id,
            version=1,
            created_at=when,
            trained_from=when,
            trained_to=when,
            params={} if params is None else params,
            threshold=0.5,
            threshold_method="block_maxima",
            artifact=artifact,
            active=True,
        )
        .returning(Model.id)
    ).scalar_one()
    return stream_id, model_id


UNJUDGED_ROWS = 0
"""Rows at the start of each stretch of data read that the default detector leaves unscored: none. The
prediction LSTM leaves its ``horizon`` rows unjudged (judging them would need a look-ahead) and the
seasonal member is silent there too, but the noise-level member judges every window, and the ensemble
scores a window wherever one member does (tests/detectors/test_lstm_autoencoder.py checks the LSTM's
own rule)."""


def tiny_config(data: Path, tmp_path: Path, **sections: dict) -> PipelineConfig:
    """A configuration that trains in about a second per stream: small window, few units, few epochs."""
    raw = {
        "source": {"path": str(data)},
        "window": {"length": 16, "train_stride": 4},
        "model": {"units": 8, "epochs": 3, "batch_size": 32, "patience": 2},
        "embeddings": {"normal_sample_every": 12, "max_clusters": 3},
        "storage": {"db": f"sqlite:///{tmp_path / 'anomaly.db'}", "models": str(tmp_path / "models")},
    }
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    return config_from_dict(raw)


@pytest.fixture
def two_stream_csv(tmp_path: Path) -> Path:
    """A long CSV with two clean streams, the second with a spike."""
    return write_long_csv(
        tmp_path / "sensors.csv",
        [sensor_frame("plant/a", seed=1), sensor_frame("plant/b", seed=2, spike_at=500)],
    )


@pytest.fixture(scope="session")
def sample_run_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database filled by the real sample pipeline with its default config, through the CLI.

    Shared by the quality test and the dashboard's browser test; it trains seven models, so it
    runs once per session.
    """
    from anomaly.cli import main

    workdir = tmp_path_factory.mktemp("sample_run")
    url = f"sqlite:///{workdir / 'anomaly.db'}"
    exit_code = main(
        ["run", str(ROOT / "pipelines" / "sample.toml"), "--db", url, "--models", str(workdir / "models")]
    )
    assert exit_code == 0
    return url


POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the local server, dropped afterwards.

    CI starts the server (``.ci/run``), so there an unreachable server fails the test; on a
    developer machine without PostgreSQL the test is skipped with the reason.
    """
    import os
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"anomaly_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432 ({str(exc.orig).splitlines()[0]})")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database a pipeline test writes to: a SQLite file in ``tmp_path``, then a fresh PostgreSQL
    database (skipped, with the reason, where no server runs outside CI)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'anomaly.db'}"
    return request.getfixturevalue("postgres_url")
