"""End-to-end runs on small synthetic data with a tiny model: rows, idempotence, failures, rollback."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from sqlalchemy import func, select

from anomaly.errors import DatabaseError, DataError
from anomaly.storage.database import open_engine
from anomaly.storage.schema import Anomaly, Model, Run, Score, Stream, Window
from pipelines import Command, execute
from tests.conftest import sensor_frame, tiny_config, write_long_csv

TABLES = (Run, Stream, Model, Score, Anomaly, Window)


def _counts(url: str) -> dict[str, int]:
    engine = open_engine(url)
    with engine.connect() as connection:
        counts = {
            t.__tablename__: connection.execute(select(func.count()).select_from(t)).scalar() for t in TABLES
        }
    engine.dispose()
    return counts


def test_run_stores_scores_models_anomalies_and_windows(tmp_path, two_stream_csv):
    config = tiny_config(two_stream_csv, tmp_path)
    summary = execute(config, Command.RUN)
    assert summary.status == "succeeded"
    counts = _counts(config.storage.db)
    assert counts["streams"] == 2 and counts["models"] == 2
    assert counts["scores"] == 1200  # every timestamp of both streams
    assert counts["windows"] > 0
    engine = open_engine(config.storage.db)
    with engine.connect() as connection:
        run = connection.execute(select(Run)).one()
        assert run.status == "succeeded" and run.finished_at >= run.started_at
        assert run.n_streams == 2 and run.error is None
        stream = connection.execute(select(Stream).where(Stream.name == "plant/b")).one()
        assert stream.frequency == "10min" and stream.channels == ["value"]
        assert stream.last_scored_ts == stream.last_ts
        model = connection.execute(select(Model).where(Model.stream_id == stream.id)).one()
        assert model.active and model.version == 1 and model.threshold > 0
        assert (tmp_path / "models").exists() and model.artifact.startswith(str(tmp_path / "models"))
        windows = connection.execute(select(Window).where(Window.stream_id == stream.id)).all()
        assert all(len(w.embedding) == 8 for w in windows)
        assert all(len(w.reconstruction) == 16 for w in windows)
        flagged = [w for w in windows if w.is_anomaly]
        assert all(w.anomaly_id is not None for w in flagged)
    engine.dispose()


def test_second_identical_run_adds_no_rows_but_a_run_row(tmp_path, two_stream_csv):
    config = tiny_config(two_stream_csv, tmp_path)
    execute(config, Command.RUN)
    before = _counts(config.storage.db)
    summary = execute(config, Command.RUN)
    after = _counts(config.storage.db)
    assert summary.status == "succeeded"
    assert after == {**before, "runs": before["runs"] + 1}


def test_appended_rows_are_scored_once_with_the_existing_model(tmp_path):
    full = sensor_frame("plant/a", n=700, seed=5)
    data = write_long_csv(tmp_path / "s.csv", [full.iloc[:600]])
    config = tiny_config(data, tmp_path)
    execute(config, Command.RUN)
    write_long_csv(data, [full])
    execute(config, Command.RUN)
    counts = _counts(config.storage.db)
    assert counts["scores"] == 700
    assert counts["models"] == 1
    connection = sqlite3.connect(tmp_path / "anomaly.db")
    per_run = dict(connection.execute("select run_id, count(*) from scores group by run_id").fetchall())
    assert per_run == {1: 600, 2: 100}


def test_bad_stream_fails_alone_and_leaves_no_rows(tmp_path):
    good = sensor_frame("plant/good", seed=1)
    bad = sensor_frame("plant/bad", seed=2).astype({"value": object})
    bad.loc[100, "value"] = "broken"
    data = write_long_csv(tmp_path / "s.csv", [good, bad])
    config = tiny_config(data, tmp_path)
    summary = execute(config, Command.RUN)
    assert summary.status == "failed"
    assert [f.name for f in summary.failures] == ["plant/bad"]
    engine = open_engine(config.storage.db)
    with engine.connect() as connection:
        names = connection.execute(select(Stream.name)).scalars().all()
        run = connection.execute(select(Run)).one()
    engine.dispose()
    assert names == ["plant/good"]
    assert run.status == "failed"
    assert "1 of 2 streams failed" in run.error and "'broken'" in run.error and "row" in run.error


def test_stream_shorter_than_a_window_fails_with_a_clear_message(tmp_path):
    data = write_long_csv(tmp_path / "s.csv", [sensor_frame("plant/a"), sensor_frame("plant/short", n=10)])
    summary = execute(tiny_config(data, tmp_path), Command.RUN)
    (failure,) = summary.failures
    assert failure.name == "plant/short"
    assert "window" in failure.error and "10" in failure.error


def test_write_failure_rolls_back_the_stream_and_removes_its_artifact(tmp_path, two_stream_csv, monkeypatch):
    import anomaly.storage.writer as writer

    def broken_windows(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "_insert_windows", broken_windows)
    config = tiny_config(two_stream_csv, tmp_path)
    summary = execute(config, Command.RUN)
    assert summary.status == "failed" and len(summary.failures) == 2
    assert all("disk full" in f.error for f in summary.failures)
    counts = _counts(config.storage.db)
    assert {k: v for k, v in counts.items() if k != "runs"} == dict.fromkeys(counts.keys() - {"runs"}, 0)
    assert not any((tmp_path / "models").rglob("*.h5"))


def test_unreadable_source_marks_the_run_failed(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    config = tiny_config(empty, tmp_path)
    with pytest.raises(DataError, match="empty"):
        execute(config, Command.RUN)
    run = sqlite3.connect(tmp_path / "anomaly.db").execute("select status, error from runs").fetchone()
    assert run[0] == "failed" and "empty" in run[1]


def test_database_that_is_down_is_a_one_line_error(tmp_path, two_stream_csv):
    config = tiny_config(two_stream_csv, tmp_path).with_overrides(
        db="postgresql+psycopg://postgres:secret@127.0.0.1:9/anomaly"
    )
    with pytest.raises(DatabaseError) as error:
        execute(config, Command.RUN)
    message = str(error.value)
    assert "cannot connect" in message and "secret" not in message and "\n" not in message


def test_train_then_score_equals_run(tmp_path, two_stream_csv):
    split = tmp_path / "split"
    split.mkdir()
    config = tiny_config(two_stream_csv, split)
    execute(config, Command.TRAIN)
    assert _counts(config.storage.db)["scores"] == 0
    execute(config, Command.SCORE)
    one = tmp_path / "one"
    one.mkdir()
    execute(tiny_config(two_stream_csv, one), Command.RUN)
    query = (
        "select s.name, sc.ts, sc.error, sc.is_anomaly from scores sc join streams s on s.id = sc.stream_id"
    )
    split_scores = pd.read_sql(query, sqlite3.connect(split / "anomaly.db"))
    one_scores = pd.read_sql(query, sqlite3.connect(one / "anomaly.db"))
    pd.testing.assert_frame_equal(split_scores, one_scores, rtol=1e-5)


def test_score_without_a_model_fails_per_stream(tmp_path, two_stream_csv):
    summary = execute(tiny_config(two_stream_csv, tmp_path), Command.SCORE)
    assert len(summary.failures) == 2
    assert all("no trained model" in f.error for f in summary.failures)


def test_multivariate_stream_stores_values_per_channel(tmp_path):
    base = sensor_frame("pump", n=500, seed=9)
    frame = base.assign(pressure=base.value * 2, flow=base.value + 1, temperature=base.value.shift(3).bfill())
    data = write_long_csv(tmp_path / "m.csv", [frame.drop(columns="value")])
    config = tiny_config(data, tmp_path)
    assert execute(config, Command.RUN).status == "succeeded"
    connection = sqlite3.connect(tmp_path / "anomaly.db")
    (channels,) = connection.execute("select channels from streams").fetchone()
    assert channels == '["pressure", "flow", "temperature"]'
    value, values = connection.execute('select value, "values" from scores limit 1').fetchone()
    assert value is None and len(values.strip("[]").split(",")) == 3
