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
from dashboard import lookalike, queries, signin
from dashboard.access import PASSWORD_HASH_VARIABLE, USERS_VARIABLE
from dashboard.passwords import hash_password

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


VERDICT_CONTROLS = {"confirm", "dismiss", "reopen"}
AUTH_SECRETS = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "not-a-secret",
                "client_id": "dashboard", "client_secret": "x",
                "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}


@pytest.fixture(scope="module")
def alice_hash() -> str:
    return hash_password("s3cret alice")


def open_detail(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, app: AppTest | None = None,
                **environment: str) -> tuple[AppTest, int]:
    """The detail page of an open anomaly, with the sign-in configured by ``environment`` only."""
    for name in (USERS_VARIABLE, PASSWORD_HASH_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    anomaly_id = int(queries.anomalies(engine, statuses=["open"]).iloc[0]["id"])
    monkeypatch.setenv("ANOMALY_DB_URL", db_url)
    if app is None:
        app = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    app.run()
    app.switch_page("views/anomaly.py")
    app.query_params.update(anomaly=str(anomaly_id))
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app, anomaly_id


def verdict_controls(app: AppTest) -> set[str]:
    return {button.key for button in app.button} & VERDICT_CONTROLS | {area.key for area in app.text_area}


def verdict_of(engine: Engine, anomaly_id: int) -> tuple:
    with engine.connect() as connection:
        return tuple(connection.execute(
            select(Anomaly.status, Anomaly.note, Anomaly.verdict_by, Anomaly.verdict_at)
            .where(Anomaly.id == anomaly_id)
        ).one())


def sign_in(app: AppTest, name: str, password: str) -> AppTest:
    app.text_input(key="sign_in_name").input(name)
    app.text_input(key="sign_in_password").input(password)
    return app.button(key="sign_in").click().run()


def test_without_a_sign_in_method_the_detail_is_read_only_and_says_how_to_enable_changes(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = open_detail(db_url, engine, monkeypatch)
    assert verdict_controls(app) == set()
    assert not app.text_input
    hints = [caption.value for caption in app.sidebar.caption if "Read-only" in caption.value]
    assert len(hints) == 1 and "hash-password" in hints[0]


def test_a_signed_out_browser_sees_the_sign_in_form_and_a_wrong_password_changes_nothing(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, alice_hash: str
) -> None:
    app, anomaly_id = open_detail(db_url, engine, monkeypatch, ANOMALY_DASHBOARD_USERS=f"alice:{alice_hash}")
    before = verdict_of(engine, anomaly_id)
    assert verdict_controls(app) == set()
    assert {field.key for field in app.sidebar.text_input} == {"sign_in_name", "sign_in_password"}
    sign_in(app, "alice", "s3cret bob")
    assert any("Wrong name or password" in error.value for error in app.error)
    assert verdict_controls(app) == set()
    assert verdict_of(engine, anomaly_id) == before


def test_a_signed_in_analyst_confirms_and_the_verdict_records_who_and_when(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, alice_hash: str
) -> None:
    app, anomaly_id = open_detail(db_url, engine, monkeypatch, ANOMALY_DASHBOARD_USERS=f"alice:{alice_hash}")
    sign_in(app, "alice", "s3cret alice")
    assert not app.exception
    assert any("Signed in as **alice**" in caption.value for caption in app.sidebar.caption)
    assert verdict_controls(app) == VERDICT_CONTROLS | {f"note_{anomaly_id}"}
    app.text_area[0].input("bearing failure, replaced")
    app.button(key="confirm").click().run()
    assert not app.exception
    status, note, by, at = verdict_of(engine, anomaly_id)
    assert (status, note, by) == ("confirmed", "bearing failure, replaced", "alice")
    assert abs((datetime.now(UTC) - at).total_seconds()) < 60
    assert any("marked confirmed by alice" in message.value for message in app.success)
    assert app.metric[3].value == "confirmed"
    assert any("Marked confirmed by **alice**" in caption.value for caption in app.caption)
    app.button(key="sign_out").click().run()
    assert verdict_controls(app) == set()
    assert {field.key for field in app.sidebar.text_input} == {"sign_in_name", "sign_in_password"}


def test_with_the_team_password_the_analyst_is_recorded_under_the_name_they_give(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, alice_hash: str
) -> None:
    app, anomaly_id = open_detail(db_url, engine, monkeypatch, ANOMALY_DASHBOARD_PASSWORD_HASH=alice_hash)
    sign_in(app, "Dana (night shift)", "s3cret alice")
    app.button(key="dismiss").click().run()
    assert verdict_of(engine, anomaly_id)[::2] == ("dismissed", "Dana (night shift)")


def test_an_oidc_identity_counts_only_where_auth_is_configured(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signin, "_authlib_installed", lambda: True)
    claimed = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    claimed.user = {"is_logged_in": True, "email": "mallory@example.com"}
    app, _ = open_detail(db_url, engine, monkeypatch, app=claimed)
    assert verdict_controls(app) == set(), "no [auth]: a claimed identity is not trusted"

    signed_out = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    signed_out.secrets["auth"] = AUTH_SECRETS
    signed_out.user = {"is_logged_in": False}
    app, _ = open_detail(db_url, engine, monkeypatch, app=signed_out)
    assert verdict_controls(app) == set()
    assert [button.label for button in app.sidebar.button if "Sign in" in button.label] == [
        "Sign in with single sign-on"
    ]

    signed_in = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    signed_in.secrets["auth"] = AUTH_SECRETS
    signed_in.user = {"is_logged_in": True, "email": "carol@example.com", "name": "Carol"}
    app, anomaly_id = open_detail(db_url, engine, monkeypatch, app=signed_in)
    assert any("Signed in as **carol@example.com**" in caption.value for caption in app.sidebar.caption)
    app.button(key="confirm").click().run()
    assert verdict_of(engine, anomaly_id)[::2] == ("confirmed", "carol@example.com")


def test_a_malformed_sign_in_setting_is_reported_and_leaves_the_app_read_only(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = open_detail(db_url, engine, monkeypatch, ANOMALY_DASHBOARD_PASSWORD_HASH="hunter2")
    assert any("Sign-in is misconfigured" in error.value for error in app.error)
    assert verdict_controls(app) == set()


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
