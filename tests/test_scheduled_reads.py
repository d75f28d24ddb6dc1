"""A scheduled run that reads only the end of a SQL source stores what a run reading all of it stores.

One cold run trains the models; its database is copied, rows are appended to the source, and the same
scheduled run is made twice: once as ``anomaly run`` makes it (reading each stream from a little
before its new rows, ``pipelines.read_plan``) and once reading everything. Scores, events, kept
windows and stream rows must be the same, with dirty data (gaps filled and gaps that split, duplicate
rows, a missing channel value) and an anomaly among the new rows.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy

from anomaly.config import PipelineConfig, config_from_dict
from anomaly.data import load_source
from pipelines import Command, execute

STEP = pd.Timedelta("10min")
START = pd.Timestamp("2026-02-01", tz="UTC")
HISTORY_DAYS = 10
NEW_ROWS = 36


def readings(rows: slice, seed: int = 0) -> pd.DataFrame:
    """Rows ``rows`` of three streams on a 10-minute grid: two univariate with a daily cycle, one with
    two channels; dirt everywhere, and a spike in 'b' among the last rows."""
    total = HISTORY_DAYS * 144 + NEW_ROWS
    rng = np.random.default_rng(seed)
    steps = np.arange(total)
    daily = np.sin(2 * np.pi * steps / 144)
    parts = []
    for place, name in enumerate(["a", "b", "m"]):
        value = daily * (1 + place) + rng.normal(0, 0.1, total)
        other = np.where(name == "m", np.cos(2 * np.pi * steps / 144) + rng.normal(0, 0.1, total), np.nan)
        if name == "b":
            value[total - 10 : total - 7] += 8.0
        keep = np.ones(total, dtype=bool)
        keep[rng.choice(total - 50, 25, replace=False)] = False  # one-step gaps, filled
        for start in rng.choice(total - 50, 3, replace=False):  # long gaps, which split the series
            keep[start : start + 12] = False
        if name == "m":
            other[rng.choice(total, 15, replace=False)] = np.nan
        frame = pd.DataFrame(
            {"timestamp": START + steps * STEP, "stream": name, "value": value, "other": other}
        )
        frame = frame[keep]
        parts += [frame, frame.sample(10, random_state=place)]  # duplicate rows, averaged
    everything = pd.concat(parts).sort_values("timestamp", kind="stable")
    chosen = everything[
        (everything.timestamp >= START + rows.start * STEP)
        & (everything.timestamp < START + rows.stop * STEP)
    ]
    return chosen.assign(timestamp=chosen.timestamp.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))


def append(url: str, frame: pd.DataFrame) -> None:
    engine = sqlalchemy.create_engine(url)
    frame.to_sql("readings", engine, if_exists="append", index=False)
    engine.dispose()


def pipeline(source_url: str, db: Path, models: Path, detector: str, **sections: dict) -> PipelineConfig:
    raw = {
        "detector": detector,
        "source": {"url": source_url, "table": "readings"},
        "window": {"length": 16, "train_stride": 4},
        "model": {"units": 4, "epochs": 1, "batch_size": 64},
        "ensemble": {"members": ["lstm_autoencoder", "seasonal_naive"]},
        "embeddings": {"normal_sample_every": 6, "max_clusters": 3},
        "storage": {"db": f"sqlite:///{db}", "models": str(models)},
        **sections,
    }
    return config_from_dict(raw)


def stored(db: Path) -> dict[str, pd.DataFrame]:
    """What a user's SQL sees of the results, without ids and run numbers."""
    queries = {
        "scores": 'SELECT s.name, ts, value, "values", error, c.threshold, is_anomaly FROM scores c '
        "JOIN streams s ON s.id = c.stream_id ORDER BY s.name, ts",
        "anomalies": "SELECT s.name, start_ts, end_ts, peak_ts, peak_error, threshold, severity, n_windows "
        "FROM anomalies a JOIN streams s ON s.id = a.stream_id ORDER BY s.name, start_ts",
        "windows": "SELECT s.name, start_ts, end_ts, error, is_anomaly, embedding, cluster, x, y, "
        "reconstruction FROM windows w JOIN streams s ON s.id = w.stream_id ORDER BY s.name, start_ts",
        "streams": "SELECT name, channels, frequency, first_ts, last_ts, last_scored_ts FROM streams "
        "ORDER BY name",
        "models": "SELECT s.name, version, trained_from, trained_to, threshold, active FROM models m "
        "JOIN streams s ON s.id = m.stream_id ORDER BY s.name, version",
    }
    with sqlite3.connect(db) as connection:
        return {name: pd.read_sql(query, connection) for name, query in queries.items()}


def assert_same_results(narrow: dict[str, pd.DataFrame], whole: dict[str, pd.DataFrame]) -> None:
    for table, frame in whole.items():
        got = narrow[table]
        assert list(got.columns) == list(frame.columns) and len(got) == len(frame), table
        for column in frame.columns:
            if column in ("embedding", "reconstruction", "values"):
                for mine, theirs in zip(got[column], frame[column], strict=True):
                    assert (mine is None) == (theirs is None), (table, column)
                    if mine is not None:
                        np.testing.assert_allclose(
                            np.array(json.loads(mine), dtype=float),
                            np.array(json.loads(theirs), dtype=float),
                            rtol=1e-12,
                        )
            elif pd.api.types.is_float_dtype(frame[column]):
                # Equal but for rounding: the seasonal detector's window means are differences of sums.
                np.testing.assert_allclose(
                    got[column], frame[column], rtol=1e-12, atol=0, err_msg=f"{table}.{column}"
                )
            else:
                assert got[column].tolist() == frame[column].tolist(), (table, column)


@pytest.fixture
def rows_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of source rows each run of this test loads (the runner's ``load_source`` watched)."""
    import pipelines.runner

    counts: list[int] = []

    def watched(source, ranges=None):
        loaded = load_source(source, ranges)
        counts.append(sum(len(stream.frame) for stream in loaded.streams))
        return loaded

    monkeypatch.setattr(pipelines.runner, "load_source", watched)
    return counts


def scheduled_twice(tmp_path: Path, source_url: str, detector: str, monkeypatch, **sections):
    """The results of the scheduled run after a cold run, reading part of the source and all of it."""
    import pipelines.runner

    cold_db = tmp_path / "cold.db"
    append(source_url, readings(slice(0, HISTORY_DAYS * 144)))
    assert (
        execute(pipeline(source_url, cold_db, tmp_path / "models", detector, **sections), Command.RUN).status
        == "succeeded"
    )
    for name in ("narrow", "whole"):
        shutil.copy(cold_db, tmp_path / f"{name}.db")
    append(source_url, readings(slice(HISTORY_DAYS * 144, HISTORY_DAYS * 144 + NEW_ROWS)))

    narrow = execute(
        pipeline(source_url, tmp_path / "narrow.db", tmp_path / "models-narrow", detector, **sections),
        Command.RUN,
    )
    with monkeypatch.context() as patched:
        patched.setattr(pipelines.runner, "plan_reads", lambda *args: None)
        whole = execute(
            pipeline(source_url, tmp_path / "whole.db", tmp_path / "models-whole", detector, **sections),
            Command.RUN,
        )
    assert narrow.status == whole.status == "succeeded"
    assert narrow.n_scores == whole.n_scores > 0
    return stored(tmp_path / "narrow.db"), stored(tmp_path / "whole.db")


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'source.db'}"


@pytest.mark.parametrize("detector", ["rolling_zscore", "lstm_autoencoder", "ensemble"])
def test_a_scheduled_run_reading_the_end_of_the_source_stores_what_a_whole_read_stores(
    tmp_path, monkeypatch, rows_read, detector
):
    narrow, whole = scheduled_twice(tmp_path, sqlite_url(tmp_path), detector, monkeypatch)
    assert_same_results(narrow, whole)
    assert (narrow["anomalies"].name == "b").any() and narrow["anomalies"].start_ts.max() > "2026-02-11"
    _, narrowed, full = rows_read
    assert narrowed < full / 2  # the seasonal member needs three days of the ten


def test_a_stream_due_for_retraining_is_read_again_whole(tmp_path, monkeypatch, rows_read):
    narrow, whole = scheduled_twice(
        tmp_path, sqlite_url(tmp_path), "rolling_zscore", monkeypatch, retrain={"max_new_rows": NEW_ROWS - 5}
    )
    assert_same_results(narrow, whole)
    assert narrow["models"].version.max() == 2


@pytest.mark.postgres
def test_a_postgresql_source_is_read_in_part_alike(tmp_path, monkeypatch, rows_read, postgres_url):
    narrow, whole = scheduled_twice(tmp_path, postgres_url, "rolling_zscore", monkeypatch)
    assert_same_results(narrow, whole)
    assert rows_read[1] < rows_read[2] / 4
