"""Per-stream work gives the same flags whichever executor runs it: here, a process pool, Dask."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import create_engine

from anomaly.config import config_from_dict
from anomaly.errors import ConfigError, ExecutorError
from pipelines import Command, execute
from pipelines.executors import open_executor
from tests.conftest import sensor_frame, tiny_config, write_long_csv

SCORES = (
    "select s.name, sc.ts, sc.error, sc.is_anomaly, sc.threshold from scores sc "
    "join streams s on s.id = sc.stream_id order by s.name, sc.ts"
)
EVENTS = (
    "select s.name, a.start_ts, a.end_ts, a.peak_ts from anomalies a "
    "join streams s on s.id = a.stream_id order by s.name, a.start_ts"
)


def _results(url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    engine = create_engine(url)
    with engine.connect() as connection:
        frames = pd.read_sql(SCORES, connection), pd.read_sql(EVENTS, connection)
    engine.dispose()
    return frames


@pytest.fixture(scope="module")
def three_streams(tmp_path_factory) -> object:
    folder = tmp_path_factory.mktemp("executors")
    return write_long_csv(
        folder / "s.csv",
        [
            sensor_frame("plant/a", seed=1),
            sensor_frame("plant/b", seed=2, spike_at=500),
            sensor_frame("plant/c", seed=3),
        ],
    )


@pytest.fixture(scope="module")
def in_process_results(three_streams, tmp_path_factory):
    folder = tmp_path_factory.mktemp("in_process")
    config = tiny_config(three_streams, folder)
    assert execute(config, Command.RUN).status == "succeeded"
    return _results(config.storage.db)


@pytest.mark.parametrize("executor", ["processes:2", "dask-local:2"])
def test_executors_give_the_same_flags_as_in_process(executor, three_streams, in_process_results, tmp_path):
    config = tiny_config(three_streams, tmp_path).model_copy(update={"executor": executor})
    summary = execute(config, Command.RUN)
    assert summary.status == "succeeded" and [o.name for o in summary.outcomes] == [
        "plant/a",
        "plant/b",
        "plant/c",
    ]
    scores, events = _results(config.storage.db)
    expected_scores, expected_events = in_process_results
    pd.testing.assert_frame_equal(scores, expected_scores, rtol=1e-5)
    pd.testing.assert_frame_equal(events, expected_events)


def test_unknown_executor_is_a_config_error():
    with pytest.raises(ConfigError, match="executor"):
        config_from_dict({"source": {"path": "x.csv"}, "executor": "threads"})


def test_unreachable_dask_scheduler_is_one_clear_error():
    with (
        pytest.raises(ExecutorError, match=r"cannot reach the Dask scheduler at 127\.0\.0\.1:9"),
        open_executor("dask://127.0.0.1:9"),
    ):
        pass
