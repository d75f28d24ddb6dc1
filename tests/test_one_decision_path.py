"""The pipeline and the evaluation decide alarms the same way, for any registered detector.

``anomaly run`` stores one anomaly per decided event; ``anomaly evaluate --protocol offline`` fits the
same detector on the same whole series and raises one alarm per decided event. Both go through
``anomaly.decisions.decide``, so the anomalies' start times are the alarms' times.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from anomaly.cli import main
from anomaly.storage.database import open_engine
from anomaly.storage.schema import Anomaly, Model, Stream, Window
from pipelines import Command, execute
from tests.conftest import sensor_frame, tiny_config


def _directory(tmp_path: Path) -> Path:
    """Two streams, one CSV file each, with spikes (one stream has two)."""
    data = tmp_path / "data"
    data.mkdir()
    for name, seed, spikes in (("a.csv", 1, [420]), ("b.csv", 2, [250, 500])):
        frame = sensor_frame(name, seed=seed).drop(columns="stream")
        for at in spikes:
            frame.loc[at : at + 2, "value"] += 6.0
        frame.to_csv(data / name, index=False)
    return data


def _config_file(tmp_path: Path, data: Path, threshold: dict) -> Path:
    path = tmp_path / "pipeline.toml"
    threshold_lines = "\n".join(f"{key} = {json.dumps(value)}" for key, value in threshold.items())
    path.write_text(
        f"""
[source]
path = "{data}"

[window]
length = 16
train_stride = 4

[model]
units = 8
epochs = 3
batch_size = 32
patience = 2

[threshold]
{threshold_lines}

[embeddings]
max_clusters = 3

[storage]
db = "sqlite:///{tmp_path / "anomaly.db"}"
models = "{tmp_path / "models"}"
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "threshold",
    [
        {"method": "block_maxima"},
        {"method": "dynamic", "dynamic_z_range": [1.0, 10.0, 0.5]},
        {"method": "label_tuned", "labels": "spikes.json"},
    ],
    ids=["block_maxima", "dynamic-pruned", "label_tuned"],
)
def test_run_and_offline_evaluation_raise_the_same_alarms(tmp_path, threshold):
    data = _directory(tmp_path)
    # The label-tuned threshold's labels (read by both commands, relative to the config file): one spike.
    stamps = pd.date_range("2026-01-01", periods=600, freq="10min")
    (tmp_path / "spikes.json").write_text(json.dumps({"b.csv": [[str(stamps[250]), str(stamps[252])]]}))
    config = _config_file(tmp_path, data, threshold)
    (tmp_path / "labels.json").write_text(json.dumps({"a.csv": [], "b.csv": []}))
    assert main(["run", str(config)]) == 0
    out = tmp_path / "out"
    assert main(["evaluate", "--data", str(data), "--labels", str(tmp_path / "labels.json"),
                 "--protocol", "offline", "--out", str(out), str(config)]) == 0  # fmt: skip

    engine = open_engine(f"sqlite:///{tmp_path / 'anomaly.db'}")
    with engine.connect() as connection:
        stored = connection.execute(select(Stream.name, Anomaly.start_ts).join(Anomaly)).all()
    engine.dispose()
    for name in ("a.csv", "b.csv"):
        written = pd.read_csv(out / name, parse_dates=["timestamp"])
        alarms = sorted(written.loc[written["is_anomaly"] == 1, "timestamp"])
        starts = sorted(pd.Timestamp(start).tz_localize(None) for stream, start in stored if stream == name)
        assert alarms == starts, name
    assert any(stream == "b.csv" for stream, _ in stored)


def test_rolling_zscore_runs_end_to_end_and_stores_events(tmp_path, two_stream_csv):
    config = tiny_config(two_stream_csv, tmp_path).model_copy(update={"detector": "rolling_zscore"})
    assert execute(config, Command.RUN).status == "succeeded"
    engine = open_engine(config.storage.db)
    with engine.connect() as connection:
        models = connection.execute(select(Stream.name, Model.params, Model.val_loss).join(Model)).all()
        anomalies = connection.execute(select(Stream.name, Anomaly.peak_ts).join(Anomaly)).all()
        windows = connection.execute(select(Window.embedding, Window.reconstruction)).all()
    assert {name for name, _, _ in models} == {"plant/a", "plant/b"}
    assert all(params["detector"] == "rolling_zscore" and val_loss is None for _, params, val_loss in models)
    spike = pd.Timestamp("2026-01-01", tz="UTC") + 500 * pd.Timedelta("10min")
    assert any(
        name == "plant/b"
        and abs(pd.Timestamp(peak).tz_localize(None) - spike.tz_localize(None)) <= pd.Timedelta("1h")
        for name, peak in anomalies
    )
    assert windows and all(len(embedding) == 16 and len(rebuilt) == 16 for embedding, rebuilt in windows)

    # A later run loads the stored detector from its artifact and finds nothing new to score.
    assert execute(config, Command.RUN).status == "succeeded"
    with engine.connect() as connection:
        assert len(connection.execute(select(Anomaly.id)).all()) == len(anomalies)
    engine.dispose()
