"""An anomaly that lasts across scheduled runs is one stored event with one alert, while the model
that raised it is active; a new model version judges afresh.

Each test runs on a SQLite file and on a fresh PostgreSQL database (``database_url``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from anomaly.config import PipelineConfig
from anomaly.storage.database import open_engine
from anomaly.storage.schema import Window
from pipelines import Command, execute
from tests.alerts.conftest import Webhook, outbox_rows, stored_anomalies
from tests.conftest import sensor_frame, tiny_config, write_long_csv

N_ROWS = 600
UNREST = slice(480, 540)
"""Rows where the sensor swings wildly: one anomaly, longer than the rows one run adds."""
TIMESTAMPS = pd.DatetimeIndex(pd.to_datetime(sensor_frame("plant/a", n=N_ROWS).timestamp, utc=True))


def _config(data, tmp_path, database_url: str, webhook: Webhook, **retrain: str) -> PipelineConfig:
    """The tiny LSTM pipeline (about a second of training), alerting every new event to ``webhook``."""
    alerts = {"urls": [webhook.url()], "retry_after": "0s", "digest_over": 100}
    return tiny_config(data, tmp_path, storage={"db": database_url}, alerts=alerts, retrain=retrain)


def _in_unrest(url: str) -> list:
    """The stored anomalies that overlap the unrest."""
    first, last = TIMESTAMPS[UNREST.start], TIMESTAMPS[UNREST.stop - 1]
    return [a for a in stored_anomalies(url) if a.start_ts <= last and a.end_ts >= first]


def _write(path, rows: int) -> None:
    """The stream's first ``rows`` rows, as a scheduler's source holds them so far."""
    frame = sensor_frame("plant/a", n=N_ROWS, seed=3)
    swings = np.where(np.arange(UNREST.stop - UNREST.start) % 2 == 0, 5.0, -5.0)
    frame.loc[UNREST.start : UNREST.stop - 1, "value"] += swings
    write_long_csv(path, [frame.iloc[:rows]])


def _flagged_windows(url: str, anomaly_id: int) -> int:
    engine = open_engine(url)
    with engine.connect() as connection:
        count = connection.execute(
            select(func.count()).where(Window.anomaly_id == anomaly_id, Window.is_anomaly.is_(True))
        ).scalar_one()
    engine.dispose()
    return count


def test_an_anomaly_spanning_scheduled_runs_is_stored_and_alerted_once(
    tmp_path, database_url, webhook: Webhook
):
    data = tmp_path / "s.csv"
    config = _config(data, tmp_path, database_url, webhook)
    ends = []
    for rows in (495, 505, 515, 525, 535, N_ROWS):  # every run sees part of the unrest
        _write(data, rows)
        execute(config, Command.RUN)
        ends.append([pd.Timestamp(a.end_ts) for a in _in_unrest(database_url)])
    anomalies = _in_unrest(database_url)
    assert len(anomalies) == 1, [(a.start_ts, a.end_ts) for a in anomalies]
    anomaly = anomalies[0]
    # each run extended the one event to the rows it saw, and counted its windows
    assert [len(run) for run in ends] == [1] * len(ends)
    assert [run[0] for run in ends] == sorted(run[0] for run in ends) and ends[0][0] < ends[-1][0]
    assert anomaly.n_windows == _flagged_windows(database_url, anomaly.id) > 40
    assert TIMESTAMPS[UNREST.start - 16] <= pd.Timestamp(anomaly.start_ts) <= TIMESTAMPS[UNREST.start + 16]
    assert TIMESTAMPS[UNREST.stop - 16] <= pd.Timestamp(anomaly.end_ts) <= TIMESTAMPS[UNREST.stop + 16]
    alerted = [row.anomaly_id for row in outbox_rows(database_url)]
    assert alerted.count(anomaly.id) == 1


def test_a_new_model_version_judges_an_ongoing_anomaly_afresh(tmp_path, database_url, webhook: Webhook):
    data = tmp_path / "s.csv"
    config = _config(data, tmp_path, database_url, webhook, policy="every_run")
    for rows in (495, 510, 525):  # a new version before each run's rows are scored
        _write(data, rows)
        execute(config, Command.RUN)
    anomalies = _in_unrest(database_url)
    assert len(anomalies) == 3, [(a.start_ts, a.end_ts) for a in anomalies]
    assert len({a.model_id for a in anomalies}) == 3
    alerted = {row.anomaly_id for row in outbox_rows(database_url)}
    assert {a.id for a in anomalies} <= alerted
