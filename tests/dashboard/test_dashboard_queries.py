"""The dashboard's queries against the fixture database (no Streamlit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import STREAMS, WINDOW_LENGTH
from sqlalchemy import Engine, select

from anomaly.storage.database import open_engine, upgrade_schema
from anomaly.storage.schema import Anomaly
from dashboard import queries
from dashboard.queries import DatabaseState


def stream_row(engine: Engine, name: str):
    table = queries.streams(engine)
    return table[table["name"] == name].iloc[0]


def test_database_state_tells_empty_databases_apart(tmp_path: Path, engine: Engine) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert queries.sqlite_file_missing(url)
    bare = open_engine(url)
    assert queries.database_state(bare) is DatabaseState.NO_SCHEMA
    upgrade_schema(bare)
    assert queries.database_state(bare) is DatabaseState.NO_RUNS
    assert queries.database_state(engine) is DatabaseState.READY
    assert not queries.sqlite_file_missing("sqlite://")
    assert not queries.sqlite_file_missing("postgresql+psycopg://u@localhost/db")


def test_stream_overview_counts_open_anomalies_and_shows_active_model(engine: Engine) -> None:
    overview = queries.stream_overview(engine).set_index("stream")
    assert set(overview.index) == {spec.name for spec in STREAMS}
    temperature = overview.loc["machine_temperature"]
    assert temperature["anomalies"] == 2
    assert temperature["open_anomalies"] == 1
    assert temperature["model_version"] == 2
    assert temperature["threshold"] == pytest.approx(1.2)
    assert overview.loc["pump_station_7", "channels"] == "pressure, flow, vibration"


def test_run_history_shows_failures_with_their_message(engine: Engine) -> None:
    runs = queries.run_history(engine)
    assert list(runs["id"]) == sorted(runs["id"], reverse=True)
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 1
    assert "is not a number" in failed.iloc[0]["error"]


@pytest.mark.parametrize("spec", STREAMS, ids=lambda spec: spec.name)
def test_stream_series_is_bounded_and_keeps_extremes(engine: Engine, spec) -> None:
    stream = stream_row(engine, spec.name)
    first, last = queries.score_extent(engine, int(stream["id"]))
    series = queries.stream_series(engine, int(stream["id"]), spec.channels, first, last, n_buckets=100)
    assert series.n_rows == spec.n_points
    assert len(series.points) <= 200
    assert list(series.points.columns) == ["ts", *spec.channels, "error"]
    assert series.points["ts"].is_monotonic_increasing
    raw = queries.window_values(engine, int(stream["id"]), spec.channels, first, last)
    for column in [*spec.channels, "error"]:
        assert series.points[column].max() == pytest.approx(raw[column].max())
        assert series.points[column].min() == pytest.approx(raw[column].min())


def test_stream_series_of_a_short_range_returns_every_row(engine: Engine) -> None:
    stream = stream_row(engine, "machine_temperature")
    first, _ = queries.score_extent(engine, int(stream["id"]))
    end = first + timedelta(minutes=5 * 49)
    series = queries.stream_series(engine, int(stream["id"]), ["value"], first, end)
    raw = queries.window_values(engine, int(stream["id"]), ["value"], first, end)
    assert series.n_rows == len(raw) == 50
    np.testing.assert_allclose(series.points["value"], raw["value"])
    assert (series.points["ts"] == raw["ts"]).all()


def test_threshold_steps_follow_model_versions(engine: Engine) -> None:
    stream = stream_row(engine, "machine_temperature")
    extent = queries.score_extent(engine, int(stream["id"]))
    steps = queries.threshold_steps(engine, int(stream["id"]), *extent)
    assert list(steps["version"]) == [1, 2]
    assert list(steps["threshold"]) == [0.8, 1.2]
    assert steps["end_ts"].iloc[0] < steps["start_ts"].iloc[1]


def test_anomalies_filters_combine(engine: Engine) -> None:
    everything = queries.anomalies(engine)
    assert len(everything) == 5
    assert everything["severity"].is_monotonic_decreasing
    pump = queries.anomalies(engine, stream_names=["pump_station_7"])
    assert set(pump["stream"]) == {"pump_station_7"}
    severe = queries.anomalies(engine, min_severity=2.0)
    assert (severe["severity"] >= 2.0).all() and len(severe) < len(everything)
    dismissed = queries.anomalies(engine, statuses=["dismissed"])
    assert set(dismissed["status"]) == {"dismissed"}
    one = everything.iloc[0]
    overlapping = queries.anomalies(engine, start=one["start_ts"], end=one["start_ts"])
    assert one["id"] in set(overlapping["id"])
    assert queries.anomalies(engine, stream_names=["x' OR '1'='1"]).empty


def test_anomaly_windows_carry_reconstruction_of_window_shape(engine: Engine) -> None:
    pump = queries.anomalies(engine, stream_names=["pump_station_7"]).iloc[0]
    windows = queries.anomaly_windows(engine, int(pump["id"]))
    assert len(windows) == 2
    assert np.asarray(windows.iloc[0]["reconstruction"]).shape == (WINDOW_LENGTH, 3)
    values = queries.window_values(
        engine,
        int(pump["stream_id"]),
        ["pressure", "flow", "vibration"],
        windows.iloc[0]["start_ts"],
        windows.iloc[0]["end_ts"],
    )
    assert len(values) == WINDOW_LENGTH


def test_channel_scales_are_positive_per_channel(engine: Engine) -> None:
    stream = stream_row(engine, "pump_station_7")
    scales = queries.channel_scales(engine, int(stream["id"]), list(stream["channels"]))
    assert scales.shape == (3,)
    assert (scales > 0).all() and scales[2] > scales[0]


def test_nearest_windows_find_the_look_alike_anomaly_first(engine: Engine) -> None:
    table = queries.anomalies(engine)
    spikes = table[table["stream"].isin(["machine_temperature", "pump_station_7"])]
    temperature_spike = int(spikes[spikes["start_ts"] == spikes["start_ts"].min()]["id"].iloc[0])
    neighbours = queries.nearest_windows(engine, temperature_spike, k=4)
    assert len(neighbours) == 4
    assert neighbours["distance"].is_monotonic_increasing
    assert temperature_spike not in set(neighbours["anomaly_id"].dropna())
    assert neighbours["is_anomaly"].iloc[0]
    assert queries.nearest_windows(engine, 10_000).empty


def test_embeddings_list_every_projected_window(engine: Engine) -> None:
    windows = queries.embeddings(engine)
    assert {"stream", "cluster", "x", "y", "is_anomaly"} <= set(windows.columns)
    assert windows["is_anomaly"].sum() == 10
    assert set(windows["cluster"]) == {0, 1, 2, 3}


def test_lookalike_windows_are_the_flags_of_active_models_plus_a_normal_sample(engine: Engine) -> None:
    flagged = queries.lookalike_windows(engine)
    assert len(flagged) == 8 and flagged["is_anomaly"].astype(bool).all()
    assert flagged["error"].is_monotonic_decreasing
    stored = queries.embeddings(engine).set_index("window_id").loc[flagged["window_id"]]
    active = queries.stream_overview(engine).set_index("stream")["model_version"]
    assert (stored["model_version"].to_numpy() == active.loc[stored["stream"]].to_numpy()).all()
    assert set(flagged["status"]) <= {"open", "dismissed", "confirmed"}
    assert len(queries.lookalike_windows(engine, max_flagged=3)) == 3
    with_normal = queries.lookalike_windows(engine, normal_sample=4)
    normal = with_normal.iloc[8:]
    assert len(normal) == 4 and not normal["is_anomaly"].astype(bool).any()
    assert normal["status"].isna().all() and normal["window_id"].is_monotonic_increasing


def test_window_series_reads_each_window_once_per_timestamp(engine: Engine) -> None:
    flagged = queries.lookalike_windows(engine)
    series = queries.window_series(engine, [int(i) for i in flagged["window_id"]])
    assert (series.groupby("window_id").size() == WINDOW_LENGTH).all()
    pump = flagged[flagged["stream"] == "pump_station_7"]["window_id"]
    values = series[series["window_id"].isin(pump)]
    assert values["value"].isna().all() and values["values"].map(len).eq(3).all()
    assert queries.window_series(engine, []).empty


def test_set_anomaly_status_is_the_only_write_and_records_who_and_when(engine: Engine) -> None:
    version = queries.data_version(engine)
    at = datetime(2024, 3, 12, 9, 30, tzinfo=UTC)
    queries.set_anomaly_status(engine, 1, "confirmed", "  bearing failure  ", analyst=" alice ", at=at)
    with engine.connect() as connection:
        verdict = select(Anomaly.status, Anomaly.note, Anomaly.verdict_by, Anomaly.verdict_at)
        row = connection.execute(verdict.where(Anomaly.id == 1)).one()
    assert tuple(row) == ("confirmed", "bearing failure", "alice", at)
    assert queries.data_version(engine) != version
    shown = queries.anomalies(engine).set_index("id").loc[1]
    assert (shown["verdict_by"], shown["verdict_at"]) == ("alice", at)
    version = queries.data_version(engine)
    queries.set_anomaly_status(engine, 1, "dismissed", "bearing failure", analyst="bob")
    assert queries.data_version(engine) != version, "another analyst's changed verdict is new data"
    with engine.connect() as connection:
        by, when = connection.execute(verdict.with_only_columns(Anomaly.verdict_by, Anomaly.verdict_at)
                                      .where(Anomaly.id == 1)).one()
    assert by == "bob" and when > at
    with pytest.raises(ValueError, match="status must be one of"):
        queries.set_anomaly_status(engine, 1, "deleted", None, analyst="alice")
    with pytest.raises(ValueError, match="name of the analyst"):
        queries.set_anomaly_status(engine, 1, "confirmed", None, analyst="  ")
    with pytest.raises(LookupError):
        queries.set_anomaly_status(engine, 10_000, "confirmed", None, analyst="alice")


def test_the_dashboard_role_cannot_write_anything_else(postgres_readonly_engine: Engine) -> None:
    from sqlalchemy import update
    from sqlalchemy.exc import ProgrammingError

    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        postgres_readonly_engine.begin() as connection,
    ):
        connection.execute(update(Anomaly).values(severity=0.0))
