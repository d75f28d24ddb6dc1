"""Every page of the app, run headless with Streamlit's AppTest on the fixture database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import APP_PATH
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from anomaly.storage.database import open_engine, upgrade_schema
from anomaly.storage.schema import Anomaly, Run, Window
from dashboard import lookalike, queries

TIMEOUT_S = 30


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The app under test reads the SQLite copy at ``db_url``, so its writes are checked there."""
    engine = open_engine(db_url)
    yield engine
    engine.dispose()


def start(db_url: str, monkeypatch: pytest.MonkeyPatch, page: str | None = None, **params: str) -> AppTest:
    """Run the app for ``db_url``, then open ``page`` (relative to app.py) with query ``params``."""
    monkeypatch.setenv("ANOMALY_DB_URL", db_url)
    app = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S).run()
    if page is not None:
        app.switch_page(page)
        app.query_params.update(params)
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def chart_traces(app: AppTest) -> list[list[dict]]:
    """The traces of each Plotly chart on the page, as sent to the browser."""
    return [json.loads(chart.proto.spec)["data"] for chart in app.get("plotly_chart")]


def test_overview_lists_streams_and_failed_runs(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = start(db_url, monkeypatch)
    assert app.title[0].value == "Overview"
    assert [metric.label for metric in app.metric][:2] == ["Streams", "Open anomalies"]
    assert app.metric[0].value == "3"
    assert any("is not a number" in error.value for error in app.error)
    streams, runs = app.dataframe[0].value, app.dataframe[1].value
    assert set(streams["stream"]) == {"machine_temperature", "realKnownCause/nyc_taxi.csv", "pump_station_7"}
    assert "failed" in set(runs["status"])


def test_stream_view_draws_series_error_and_threshold_steps(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = start(db_url, monkeypatch, "views/stream.py", stream="machine_temperature")
    assert app.selectbox[0].value == "machine_temperature"
    (traces,) = chart_traces(app)
    names = [trace.get("name") for trace in traces]
    assert names[:3] == ["value", "error", "threshold"]
    assert traces[2]["line"]["shape"] == "hv"
    assert app.slider[0].value[0] < app.slider[0].value[1]
    assert "scored timestamps" in app.caption[0].value


def test_stream_view_of_multivariate_stream_shows_each_channel(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = start(db_url, monkeypatch, "views/stream.py", stream="pump_station_7")
    (traces,) = chart_traces(app)
    assert [trace.get("name") for trace in traces][:3] == ["pressure", "flow", "vibration"]
    app.multiselect[0].set_value(["vibration"]).run()
    (traces,) = chart_traces(app)
    assert [trace.get("name") for trace in traces][:2] == ["vibration", "error"]


def test_time_range_narrows_the_stream_view(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = start(db_url, monkeypatch, "views/stream.py", stream="machine_temperature")
    first, last = app.slider[0].value
    app.slider[0].set_value((first, first + (last - first) / 10)).run()
    assert not app.exception
    assert "240 scored timestamps" in app.caption[0].value or "241 scored" in app.caption[0].value


def test_anomaly_detail_explains_a_multivariate_flag(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pump = queries.anomalies(engine, stream_names=["pump_station_7"]).iloc[0]
    app = start(db_url, monkeypatch, "views/anomaly.py", anomaly=str(pump["id"]))
    assert app.selectbox[0].value == pump["id"]
    window_chart, share_chart = chart_traces(app)
    assert {trace.get("name") for trace in window_chart} == {"actual", "reconstruction", "error"}
    assert share_chart[0]["type"] == "bar"
    neighbours = app.dataframe[0].value
    assert len(neighbours) == 10 and "distance" in neighbours


def test_confirming_in_the_ui_changes_the_database(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = queries.anomalies(engine, statuses=["open"]).iloc[0]
    app = start(db_url, monkeypatch, "views/anomaly.py", anomaly=str(target["id"]))
    app.text_area[0].input("bearing failure, replaced")
    app.button(key="confirm").click().run()
    assert not app.exception
    with engine.connect() as connection:
        row = connection.execute(
            select(Anomaly.status, Anomaly.note).where(Anomaly.id == int(target["id"]))
        ).one()
    assert tuple(row) == ("confirmed", "bearing failure, replaced")
    assert any("marked confirmed" in message.value for message in app.success)
    assert app.metric[3].value == "confirmed"


def test_embeddings_page_shows_one_model_and_lists_a_chosen_cluster(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    windows = queries.embeddings(engine)
    model_id = int(windows[windows["stream"] == "machine_temperature"]["model_id"].max())
    app = start(db_url, monkeypatch, "views/embeddings.py", model=str(model_id))
    (traces,) = chart_traces(app)
    assert [trace.get("name") for trace in traces][-1] == "flagged"
    assert len(traces) >= 2
    of_model = windows[windows["model_id"] == model_id]
    cluster = int(of_model[of_model["is_anomaly"].astype(bool)]["cluster"].iloc[0])
    app.selectbox(key="cluster").set_value(cluster).run()
    members = app.dataframe[0].value
    expected = of_model[of_model["cluster"] == cluster]
    assert set(members["window_id"]) == set(expected["window_id"])
    assert len(members) > 0


def across_streams(db_url: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The embeddings page switched to the cross-stream comparison."""
    app = start(db_url, monkeypatch, "views/embeddings.py")
    app.radio(key="embedding_mode").set_value("Across streams").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_embeddings_across_streams_clusters_shapes_and_lists_a_chosen_cluster(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    space = lookalike.load_map(engine)
    app = across_streams(db_url, monkeypatch)
    assert "shape of its stored values" in app.caption[0].value
    assert "not the encoders' embedding" in app.caption[0].value
    scatter, means = chart_traces(app)
    names = [trace.get("name") for trace in scatter]
    assert set(space.windows["stream"]) <= set(names)
    assert {f"cluster {c}" for c in space.windows["cluster"]} <= set(names)
    assert any("anomaly" in trace.get("hovertemplate", "") for trace in scatter)
    assert len(means) == space.windows["cluster"].nunique()

    streams_per_cluster = space.windows.groupby("cluster")["stream"].nunique()
    cluster = int(streams_per_cluster.idxmax())
    app.selectbox(key="lookalike_cluster").set_value(cluster).run()
    assert not app.exception
    members = app.dataframe[0].value
    expected = space.windows[space.windows["cluster"] == cluster]
    assert set(members["window_id"]) == set(expected["window_id"])
    assert members["stream"].nunique() == streams_per_cluster[cluster] > 1
    assert {"start_ts", "end_ts", "error", "status"} <= set(members.columns)
    _, overlay = chart_traces(app)
    assert {trace["name"] for trace in overlay} == {*expected["stream"], "mean shape"}

    app.toggle(key="lookalike_context").set_value(True).run()
    assert not app.exception
    members = app.dataframe[0].value
    assert set(members.loc[members["is_anomaly"], "window_id"]) == set(expected["window_id"]), (
        "normal windows for context move no flagged window out of its cluster"
    )
    scatter, _ = chart_traces(app)
    assert any(trace["name"].endswith(", normal") for trace in scatter)


@pytest.mark.parametrize("n_flagged", [1, 2])
def test_embeddings_across_streams_with_too_few_flagged_windows(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, n_flagged: int
) -> None:
    keep = [int(i) for i in queries.lookalike_windows(engine)["window_id"].iloc[:n_flagged]]
    with engine.begin() as connection:
        connection.execute(delete(Window).where(Window.is_anomaly.is_(True), Window.id.not_in(keep)))
    app = across_streams(db_url, monkeypatch)
    assert ("Only one flagged window" if n_flagged == 1 else "too few to cluster") in app.info[0].value
    if n_flagged == 1:
        assert list(app.dataframe[0].value["window_id"]) == keep
        (overlay,) = chart_traces(app)
        assert overlay[-1]["name"] == "mean shape"
    else:
        options = app.selectbox(key="lookalike_cluster").options
        assert len(options) == 2 and options[1].startswith("cluster 0: 2 flagged windows")
        assert len(chart_traces(app)) == 2


def test_embeddings_page_without_windows_says_so_in_both_modes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'anomaly.db'}"
    engine = open_engine(url)
    upgrade_schema(engine)
    with Session(engine) as session:
        session.add(Run(started_at=datetime(2024, 3, 1, tzinfo=UTC), status="succeeded", command="run",
                        config={}))
        session.commit()
    engine.dispose()
    app = start(url, monkeypatch, "views/embeddings.py")
    assert "No windows with a 2-D projection" in app.info[0].value
    app = across_streams(url, monkeypatch)
    assert "No flagged windows" in app.info[0].value
    assert not app.get("plotly_chart")


def test_anomalies_table_filters_sorts_and_downloads(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = start(db_url, monkeypatch, "views/anomalies.py")
    assert len(app.dataframe[0].value) == 5
    app.multiselect(key="filter_streams").set_value(["pump_station_7"]).run()
    assert set(app.dataframe[0].value["stream"]) == {"pump_station_7"}
    app.multiselect(key="filter_status").set_value(["open"]).run()
    assert len(app.dataframe[0].value) == 1
    app.multiselect(key="filter_streams").set_value([]).run()
    app.number_input(key="filter_severity").set_value(3.0).run()
    assert (app.dataframe[0].value["severity"] >= 3.0).all()
    app.selectbox(key="sort_by").set_value("start_ts").run()
    app.toggle(key="sort_descending").set_value(False).run()
    assert app.dataframe[0].value["start_ts"].is_monotonic_increasing
    assert app.get("download_button")


@pytest.mark.parametrize("fill", ["missing", "no_tables", "no_runs"])
def test_empty_database_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fill: str) -> None:
    path = tmp_path / "anomaly.db"
    url = f"sqlite:///{path}"
    if fill != "missing":
        engine = open_engine(url)
        if fill == "no_runs":
            upgrade_schema(engine)
        engine.dispose()
    app = start(url, monkeypatch)
    assert "anomaly run pipelines/sample.toml" in app.code[0].value
    assert app.info and not app.error
    assert path.exists() == (fill != "missing"), "the dashboard must not create the database"


def test_unreachable_database_shows_an_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    app = start("postgresql+psycopg://nobody:secret@127.0.0.1:9/anomaly", monkeypatch)
    assert len(app.error) == 1
    assert "Cannot open the database" in app.error[0].value
    assert "secret" not in app.error[0].value
