"""End-to-end runs on small synthetic data with a tiny model: rows, idempotence, failures, rollback.

Tests that touch the database run twice through the ``database_url`` fixture: on a SQLite file and on
a fresh PostgreSQL database (skipped outside CI where no server runs). They read the database through
SQLAlchemy only, so the same assertions hold on both.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Select, func, select

from anomaly.errors import DatabaseError, DataError
from anomaly.storage.database import open_engine
from anomaly.storage.schema import Anomaly, Model, Run, Score, Stream, Window
from pipelines import Command, execute
from tests.conftest import UNJUDGED_ROWS, sensor_frame, tiny_config, write_long_csv

TABLES = (Run, Stream, Model, Score, Anomaly, Window)


def _counts(url: str) -> dict[str, int]:
    engine = open_engine(url)
    with engine.connect() as connection:
        counts = {
            t.__tablename__: connection.execute(select(func.count()).select_from(t)).scalar() for t in TABLES
        }
    engine.dispose()
    return counts


def _rows(url: str, statement: Select) -> list:
    """Every row ``statement`` returns from the database at ``url``."""
    engine = open_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    engine.dispose()
    return rows


def test_run_stores_scores_models_anomalies_and_windows(tmp_path, two_stream_csv, database_url):
    config = tiny_config(two_stream_csv, tmp_path, storage={"db": database_url})
    summary = execute(config, Command.RUN)
    assert summary.status == "succeeded"
    counts = _counts(config.storage.db)
    assert counts["streams"] == 2 and counts["models"] == 2
    assert counts["scores"] == 1200 - 2 * UNJUDGED_ROWS  # all but the first rows
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


def test_second_identical_run_adds_no_rows_but_a_run_row(tmp_path, two_stream_csv, database_url):
    config = tiny_config(two_stream_csv, tmp_path, storage={"db": database_url})
    execute(config, Command.RUN)
    before = _counts(config.storage.db)
    summary = execute(config, Command.RUN)
    after = _counts(config.storage.db)
    assert summary.status == "succeeded"
    assert after == {**before, "runs": before["runs"] + 1}


def test_appended_rows_are_scored_once_with_the_existing_model(tmp_path, database_url):
    full = sensor_frame("plant/a", n=700, seed=5)
    data = write_long_csv(tmp_path / "s.csv", [full.iloc[:600]])
    config = tiny_config(data, tmp_path, storage={"db": database_url})
    first = execute(config, Command.RUN)
    write_long_csv(data, [full])
    second = execute(config, Command.RUN)
    counts = _counts(config.storage.db)
    assert counts["scores"] == 700 - UNJUDGED_ROWS
    assert counts["models"] == 1
    per_run = dict(_rows(database_url, select(Score.run_id, func.count()).group_by(Score.run_id)))
    assert per_run == {first.run_id: 600 - UNJUDGED_ROWS, second.run_id: 100}


def test_bad_stream_fails_alone_and_leaves_no_rows(tmp_path, database_url):
    good = sensor_frame("plant/good", seed=1)
    bad = sensor_frame("plant/bad", seed=2).astype({"value": object})
    bad.loc[100, "value"] = "broken"
    data = write_long_csv(tmp_path / "s.csv", [good, bad])
    config = tiny_config(data, tmp_path, storage={"db": database_url})
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


def test_write_failure_rolls_back_the_stream_and_removes_its_artifact(
    tmp_path, two_stream_csv, monkeypatch, database_url
):
    import anomaly.storage.writer as writer

    def broken_windows(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "_insert_windows", broken_windows)
    config = tiny_config(two_stream_csv, tmp_path, storage={"db": database_url})
    summary = execute(config, Command.RUN)
    assert summary.status == "failed" and len(summary.failures) == 2
    assert all("disk full" in f.error for f in summary.failures)
    counts = _counts(config.storage.db)
    assert {k: v for k, v in counts.items() if k != "runs"} == dict.fromkeys(counts.keys() - {"runs"}, 0)
    assert not any((tmp_path / "models").rglob("*.h5"))


def test_unreadable_source_marks_the_run_failed(tmp_path, database_url):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    config = tiny_config(empty, tmp_path, storage={"db": database_url})
    with pytest.raises(DataError, match="empty"):
        execute(config, Command.RUN)
    (run,) = _rows(database_url, select(Run.status, Run.error))
    assert run.status == "failed" and "empty" in run.error


def test_database_that_is_down_is_a_one_line_error(tmp_path, two_stream_csv):
    config = tiny_config(two_stream_csv, tmp_path).with_overrides(
        db="postgresql+psycopg://postgres:secret@127.0.0.1:9/anomaly"
    )
    with pytest.raises(DatabaseError) as error:
        execute(config, Command.RUN)
    message = str(error.value)
    assert "cannot connect" in message and "secret" not in message and "\n" not in message


def test_train_then_score_equals_run(tmp_path, two_stream_csv, database_url):
    """``train`` then ``score`` on the parametrised database equals one ``run`` on a SQLite file."""
    split = tmp_path / "split"
    split.mkdir()
    config = tiny_config(two_stream_csv, split, storage={"db": database_url})
    execute(config, Command.TRAIN)
    assert _counts(config.storage.db)["scores"] == 0
    execute(config, Command.SCORE)
    one = tmp_path / "one"
    one.mkdir()
    one_config = tiny_config(two_stream_csv, one)
    execute(one_config, Command.RUN)
    query = (
        select(Stream.name, Score.ts, Score.error, Score.is_anomaly)
        .join(Stream, Stream.id == Score.stream_id)
        .order_by(Stream.name, Score.ts)
    )
    columns = ["name", "ts", "error", "is_anomaly"]
    split_scores = pd.DataFrame(_rows(config.storage.db, query), columns=columns)
    one_scores = pd.DataFrame(_rows(one_config.storage.db, query), columns=columns)
    assert len(split_scores) == 1200 - 2 * UNJUDGED_ROWS
    pd.testing.assert_frame_equal(split_scores, one_scores, rtol=1e-5)


def test_score_without_a_model_fails_per_stream(tmp_path, two_stream_csv, database_url):
    summary = execute(tiny_config(two_stream_csv, tmp_path, storage={"db": database_url}), Command.SCORE)
    assert len(summary.failures) == 2
    assert all("no trained model" in f.error for f in summary.failures)


def test_multivariate_stream_stores_values_per_channel(tmp_path, database_url):
    base = sensor_frame("pump", n=500, seed=9)
    frame = base.assign(pressure=base.value * 2, flow=base.value + 1, temperature=base.value.shift(3).bfill())
    data = write_long_csv(tmp_path / "m.csv", [frame.drop(columns="value")])
    config = tiny_config(data, tmp_path, storage={"db": database_url})
    assert execute(config, Command.RUN).status == "succeeded"
    assert _rows(database_url, select(Stream.channels)) == [(["pressure", "flow", "temperature"],)]
    scores = _rows(database_url, select(Score.value, Score.values))
    assert len(scores) == 500 - UNJUDGED_ROWS
    assert all(value is None and len(values) == 3 for value, values in scores)
    first = _rows(database_url, select(Score.values).order_by(Score.ts).limit(1))[0][0]
    assert first == pytest.approx(frame[["pressure", "flow", "temperature"]].iloc[UNJUDGED_ROWS].tolist())


def test_a_source_holding_only_older_rows_does_not_shrink_the_stream_span(tmp_path):
    full = sensor_frame("plant/a", n=600, seed=5)
    data = write_long_csv(tmp_path / "s.csv", [full.iloc[300:]])
    config = tiny_config(data, tmp_path)
    execute(config, Command.RUN)
    write_long_csv(data, [full.iloc[:200]])
    execute(config, Command.RUN)
    engine = open_engine(config.storage.db)
    with engine.connect() as connection:
        stream = connection.execute(select(Stream)).one()
    engine.dispose()
    assert stream.first_ts == pd.Timestamp(full.timestamp.iloc[0])
    assert stream.last_ts == pd.Timestamp(full.timestamp.iloc[-1]) == stream.last_scored_ts
