"""Prometheus metrics of runs: the textfile ``anomaly run --metrics-file`` writes (also for failed runs)
and the ``/metrics`` endpoint of ``anomaly schedule --metrics-port``, parsed with the client's own
parser and checked against what the database holds for the run that wrote them."""

from __future__ import annotations

import math
import os
import socket
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

import pipelines.schedule as schedule
from anomaly.cli import main
from anomaly.config import PipelineConfig
from anomaly.errors import ConfigError
from anomaly.storage.database import has_schema, open_engine
from anomaly.storage.schema import Anomaly, Score
from pipelines.locks import stream_lock_name, try_locked
from pipelines.metrics import MetricsEndpoint, severity_band
from tests.conftest import sensor_frame, tiny_config, write_long_csv
from tests.production.conftest import runs_by_id, write_toml

EXACT = 1e-3  # s: a Unix time read back from the database (pytest.approx's default allows half an hour)


@pytest.fixture
def plant_config(tmp_path: Path, db_url: str) -> PipelineConfig:
    """Pipeline "plant" on the rolling z-score detector (no training): two good streams, the second with
    a spike, and one too short for a window, which fails."""
    data = write_long_csv(
        tmp_path / "sensors.csv",
        [
            sensor_frame("plant/a", n=300, seed=1),
            sensor_frame("plant/b", n=300, seed=2, spike_at=200),
            sensor_frame("plant/short", n=10, seed=3),
        ],
    )
    config = tiny_config(data, tmp_path, storage={"db": db_url})
    return config.model_copy(update={"name": "plant", "detector": "rolling_zscore"})


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition text, keyed by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, frozenset({"pipeline": "plant", **labels}.items()))]


def _run_records(url: str, run_id: int) -> tuple[int, list[float]]:
    """Scores and anomaly severities the database holds for run ``run_id``."""
    engine = open_engine(url)
    with engine.connect() as connection:
        scores = connection.scalar(select(func.count()).select_from(Score).where(Score.run_id == run_id))
        severities = connection.scalars(select(Anomaly.severity).where(Anomaly.run_id == run_id)).all()
    engine.dispose()
    return scores, list(severities)


def _metrics_run(config: PipelineConfig, tmp_path: Path, metrics_file: Path, *extra: str) -> int:
    toml = write_toml(config, tmp_path / "plant.toml")
    return main(["run", str(toml), "--metrics-file", str(metrics_file), *extra])


@pytest.mark.parametrize(
    ("severity", "band"),
    [(1.01, "low"), (1.99, "low"), (2.0, "medium"), (4.99, "medium"), (5.0, "high"), (math.inf, "high")],
)
def test_severity_bands_have_the_documented_cut_offs(severity, band):
    assert severity_band(severity) == band


def test_the_metrics_file_holds_the_figures_of_the_run_that_wrote_it(plant_config, tmp_path):
    metrics_file = tmp_path / "textfile" / "anomaly.prom"
    metrics_file.parent.mkdir()
    assert _metrics_run(plant_config, tmp_path, metrics_file) == 1  # plant/short failed

    (run,) = runs_by_id(plant_config.storage.db).values()
    scores, severities = _run_records(plant_config.storage.db, run.id)
    samples = _samples(metrics_file.read_text())
    assert _value(samples, "anomaly_last_run_success") == 0
    assert _value(samples, "anomaly_last_run_streams", outcome="succeeded") == 2
    assert _value(samples, "anomaly_last_run_streams", outcome="failed") == 1
    assert _value(samples, "anomaly_last_run_streams", outcome="skipped") == 0
    assert scores > 0 and _value(samples, "anomaly_last_run_scored_rows") == scores
    assert severities, "the spike in plant/b must give the run an anomaly to count"
    by_band = {
        band: _value(samples, "anomaly_last_run_anomalies", severity=band)
        for band in ("low", "medium", "high")
    }
    assert by_band == {
        "low": sum(s < 2 for s in severities),
        "medium": sum(2 <= s < 5 for s in severities),
        "high": sum(s >= 5 for s in severities),
    }
    assert sum(by_band.values()) == run.n_anomalies == len(severities)
    ended = _value(samples, "anomaly_last_run_timestamp_seconds")
    assert run.finished_at.timestamp() <= ended <= time.time()
    assert 0 < _value(samples, "anomaly_last_run_duration_seconds") < 120
    for name in ("plant/a", "plant/b"):
        assert _value(samples, "anomaly_stream_last_success_timestamp_seconds", stream=name) == pytest.approx(
            run.finished_at.timestamp(), abs=EXACT
        )
        assert 0 <= _value(samples, "anomaly_stream_seconds_since_last_success", stream=name) < 60
    assert _value(samples, "anomaly_stream_last_success_timestamp_seconds", stream="plant/short") == 0
    assert _value(samples, "anomaly_stream_seconds_since_last_success", stream="plant/short") == math.inf
    assert os.listdir(metrics_file.parent) == ["anomaly.prom"]  # no temporary file left behind


def test_a_skipped_stream_reports_its_last_success_from_the_database(plant_config, tmp_path):
    metrics_file = tmp_path / "anomaly.prom"
    _metrics_run(plant_config, tmp_path, metrics_file)
    engine = open_engine(plant_config.storage.db)
    with try_locked(engine, stream_lock_name("plant/a")) as held:  # as another run working on plant/a
        assert held
        _metrics_run(plant_config, tmp_path, metrics_file)
    engine.dispose()

    first, second = runs_by_id(plant_config.storage.db).values()
    samples = _samples(metrics_file.read_text())
    assert _value(samples, "anomaly_last_run_streams", outcome="skipped") == 1
    assert _value(samples, "anomaly_last_run_streams", outcome="succeeded") == 1  # plant/b, nothing new
    assert _value(samples, "anomaly_last_run_scored_rows") == 0
    last_success = {
        name: _value(samples, "anomaly_stream_last_success_timestamp_seconds", stream=name)
        for name in ("plant/a", "plant/b")
    }
    assert last_success == {
        "plant/a": pytest.approx(first.finished_at.timestamp(), abs=EXACT),
        "plant/b": pytest.approx(second.finished_at.timestamp(), abs=EXACT),
    }
    assert (second.finished_at - first.finished_at).total_seconds() > EXACT


def test_a_run_that_cannot_be_done_still_replaces_the_file_saying_so(tmp_path, capsys):
    config = tiny_config(tmp_path / "missing.csv", tmp_path).model_copy(update={"name": "plant"})
    metrics_file = tmp_path / "anomaly.prom"
    metrics_file.write_text("stale\n")
    stale_inode = metrics_file.stat().st_ino

    assert _metrics_run(config, tmp_path, metrics_file) == 2
    assert "missing.csv" in capsys.readouterr().err
    assert metrics_file.stat().st_ino != stale_inode  # renamed over the old file, not rewritten in place
    samples = _samples(metrics_file.read_text())
    assert _value(samples, "anomaly_last_run_success") == 0
    assert _value(samples, "anomaly_last_run_duration_seconds") >= 0
    assert not any(name == "anomaly_last_run_streams" for name, _ in samples)


def test_an_unwritable_metrics_folder_stops_the_run_before_it_starts(plant_config, tmp_path, capsys):
    assert _metrics_run(plant_config, tmp_path, tmp_path / "absent" / "anomaly.prom") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write the metrics file" in err
    engine = open_engine(plant_config.storage.db)
    assert not has_schema(engine)  # not even the schema was made: no run began
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _scrape(port: int, query: str = "") -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics{query}", timeout=10) as response:
        return response.read().decode()


def test_schedule_serves_the_latest_runs_metrics_over_http(plant_config, tmp_path, monkeypatch):
    """``anomaly schedule`` stops serving once its last run is done, so the scrape happens inside the
    scheduling call the CLI makes, with the CLI's endpoint up, after the real run."""
    port = _free_port()
    scraped = []
    real_run_every = schedule.run_every

    def run_every_then_scrape(*args, **kwargs) -> int:
        exit_code = real_run_every(*args, **kwargs)
        scraped.append(_scrape(port))
        return exit_code

    monkeypatch.setattr(schedule, "run_every", run_every_then_scrape)
    toml = write_toml(plant_config, tmp_path / "plant.toml")
    args = ["schedule", str(toml), "--every", "1h", "--max-runs", "1", "--metrics-port", str(port)]
    assert main(args) == 1

    (run,) = runs_by_id(plant_config.storage.db).values()
    scores, _ = _run_records(plant_config.storage.db, run.id)
    samples = _samples(scraped[0])
    assert _value(samples, "anomaly_last_run_streams", outcome="failed") == 1
    assert _value(samples, "anomaly_last_run_streams", outcome="succeeded") == 2
    assert _value(samples, "anomaly_last_run_scored_rows") == scores
    assert (
        sum(
            _value(samples, "anomaly_last_run_anomalies", severity=band) for band in ("low", "medium", "high")
        )
        == run.n_anomalies
    )
    with pytest.raises(OSError):
        _scrape(port)  # the port is released when the schedule ends


def _snapshot(success: int) -> CollectorRegistry:
    registry = CollectorRegistry()
    Gauge("anomaly_last_run_success", "test", ["pipeline"], registry=registry).labels("plant").set(success)
    Gauge("anomaly_last_run_duration_seconds", "test", ["pipeline"], registry=registry).labels("plant").set(3)
    return registry


def test_the_endpoint_serves_the_latest_snapshot_only():
    with MetricsEndpoint("127.0.0.1", 0) as endpoint:
        assert list(text_string_to_metric_families(_scrape(endpoint.port))) == []  # no run yet
        endpoint.publish(_snapshot(0))
        endpoint.publish(_snapshot(1))
        samples = _samples(_scrape(endpoint.port))
        assert _value(samples, "anomaly_last_run_success") == 1 and len(samples) == 2
        only = _samples(_scrape(endpoint.port, "?name[]=anomaly_last_run_success"))
        assert list(only) == [("anomaly_last_run_success", frozenset({("pipeline", "plant")}))]
        with pytest.raises(ConfigError, match=f"cannot serve metrics on 127.0.0.1:{endpoint.port}"):
            MetricsEndpoint("127.0.0.1", endpoint.port)
