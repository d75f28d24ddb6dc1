"""Which streams a run reads in part, and from when (``pipelines.read_plan``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from anomaly.config import config_from_dict
from anomaly.detectors import RollingZScoreDetector
from anomaly.storage.repository import ActiveModelInfo, StreamState
from pipelines import Command
from pipelines.read_plan import history_start, scoring_read_start, stream_grid
from tests.conftest import prepared_stream, sensor_frame

NOW = datetime(2026, 3, 1, tzinfo=UTC)
WATERMARK = datetime(2026, 2, 28, 12, tzinfo=UTC)
STEP = pd.Timedelta("10min")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> str:
    config = config_from_dict({"source": {"path": "."}, "window": {"length": 16}})
    detector = RollingZScoreDetector.from_config(config).fit(prepared_stream(sensor_frame("s", n=300), 16))
    directory = tmp_path_factory.mktemp("models") / "v1"
    detector.save(directory)
    return str(directory)


def state(artifact: str, *, model_artifact: str | None = None, **changes) -> StreamState:
    model = ActiveModelInfo(
        model_id=1,
        version=1,
        created_at=NOW - timedelta(days=2),
        trained_from=datetime(2026, 1, 1, tzinfo=UTC),
        trained_to=datetime(2026, 2, 27, tzinfo=UTC),
        artifact=model_artifact or artifact,
        reference_errors=(),
    )
    fields = {
        "stream_id": 1,
        "last_scored_ts": WATERMARK,
        "latest_version": 1,
        "active_model": model,
        "frequency": "10min",
        "channels": ("value",),
    }
    return StreamState(**(fields | changes))


def config(**sections):
    return config_from_dict({"source": {"path": "."}, "window": {"length": 16}, **sections})


def test_a_stream_that_only_scores_is_read_from_its_detectors_history_before_the_new_rows(artifact):
    start = scoring_read_start(state(artifact), config(), Command.RUN, NOW)
    reach = 3 + 1 + 16  # preparation: max_interpolated_gap + 1 + window
    assert start == pd.Timestamp(WATERMARK) + STEP - (16 + reach) * STEP
    assert scoring_read_start(state(artifact), config(), Command.SCORE, NOW) == start


@pytest.mark.parametrize(
    ("changes", "sections", "command", "why"),
    [
        ({}, {}, Command.TRAIN, "train reads everything"),
        ({"active_model": None}, {}, Command.RUN, "no model yet"),
        ({"last_scored_ts": None}, {}, Command.RUN, "never scored"),
        ({}, {"retrain": {"policy": "every_run"}}, Command.RUN, "retrained every run"),
        ({}, {"retrain": {"max_age": "1d"}}, Command.RUN, "model too old"),
        ({}, {"preparation": {"frequency": "5min"}}, Command.RUN, "another step configured"),
        ({"frequency": None}, {}, Command.RUN, "grid unknown"),
        ({"model_artifact": "/nowhere"}, {}, Command.RUN, "artifact unreadable"),
    ],
)
def test_streams_read_whole(artifact, changes, sections, command, why):
    assert scoring_read_start(state(artifact, **changes), config(**sections), command, NOW) is None, why


def test_max_new_rows_reads_back_to_the_training_data(artifact):
    scheduled = state(artifact)
    counted = config(retrain={"max_new_rows": 500})
    start = history_start(scheduled, STEP, 16, counted, Command.RUN)
    assert start == pd.Timestamp(scheduled.active_model.trained_to) + STEP - 20 * STEP
    assert history_start(scheduled, STEP, 16, counted, Command.SCORE) > start


def test_the_grid_is_the_stored_step_through_the_watermark():
    grid = stream_grid(StreamState(1, WATERMARK, 1, frequency="1h"), config().preparation)
    assert grid.step == pd.Timedelta("1h") and grid.origin == pd.Timestamp(WATERMARK)
    assert stream_grid(StreamState(1, WATERMARK, 1, frequency="bad"), config().preparation) is None
