"""Retraining: when a new model version is due, the drift test, and rows kept out of training."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert

from anomaly.config import (
    ModelConfig,
    PreparationConfig,
    RetrainConfig,
    WindowConfig,
    config_from_dict,
)
from anomaly.data import prepare_stream
from anomaly.data.types import PreparationReport, PreparedStream, RawStream
from anomaly.detectors import RECORD_FILE, LSTMAutoencoderDetector, load_detector
from anomaly.errors import ConfigError
from anomaly.results import StreamAnalysis, WindowScores
from anomaly.retrain import drift_sample, retrain_reason, rows_in_spans
from anomaly.storage.database import open_engine, upgrade_schema
from anomaly.storage.repository import (
    ActiveModelInfo,
    active_model_info,
    reviewed_anomaly_spans,
    stream_state,
)
from anomaly.storage.schema import Anomaly, Model, Run, Stream
from anomaly.thresholds import threshold_config

NOW = datetime(2026, 3, 1, tzinfo=UTC)
START = pd.Timestamp("2026-01-01", tz="UTC")


def _stream(values: np.ndarray, freq: str = "10min") -> PreparedStream:
    index = pd.date_range(START, periods=len(values), freq=freq)
    return PreparedStream(
        name="s",
        values=pd.DataFrame({"value": values}, index=index),
        segment=np.zeros(len(values), dtype=int),
        frequency=pd.Timedelta(freq),
        report=PreparationReport(input_rows=len(values)),
    )


def _active(*, created_at=NOW - timedelta(days=1), trained_to=START, reference=()) -> ActiveModelInfo:
    return ActiveModelInfo(
        model_id=1,
        version=1,
        created_at=created_at,
        trained_from=START,
        trained_to=trained_to,
        artifact="models/s/v1",
        reference_errors=tuple(reference),
    )


# -- configuration ---------------------------------------------------------------------------------


def test_retrain_config_parses_durations_and_reads_back_its_own_dump():
    config = RetrainConfig(max_age="30d", max_new_rows=4000, drift=True)
    assert config.max_age == timedelta(days=30)
    assert RetrainConfig(max_age="90min").max_age == timedelta(minutes=90)
    assert RetrainConfig(max_age="2w").max_age == timedelta(days=14)
    dumped = config.model_dump(mode="json")
    assert dumped["max_age"] == "30d"
    assert RetrainConfig.model_validate(dumped) == config
    assert RetrainConfig().model_dump() == {
        "policy": "first_sight",
        "max_age": None,
        "max_new_rows": None,
        "growth": 2.0,
        "drift": False,
        "drift_alpha": 0.01,
        "drift_min_windows": 200,
    }


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"max_age": "30"}, r"retrain\.max_age: .*duration such as '30d'"),
        ({"max_age": "30m"}, r"retrain\.max_age: .*units w, d, h, min, s"),
        ({"max_age": "0d"}, r"retrain\.max_age: .*positive duration"),
        ({"max_new_rows": 0}, r"retrain\.max_new_rows"),
        ({"drift_alpha": 1.5}, r"retrain\.drift_alpha"),
        ({"policy": "weekly"}, r"retrain\.policy"),
    ],
)
def test_invalid_retrain_settings_name_the_field(section, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"source": {"path": "x.csv"}, "retrain": section})


# -- reasons ---------------------------------------------------------------------------------------


def test_a_stream_without_a_model_and_policy_every_run_always_train():
    stream = _stream(np.zeros(10))
    assert retrain_reason(None, stream, None, RetrainConfig(), NOW) == "no active model"
    assert retrain_reason(_active(), stream, None, RetrainConfig(policy="every_run"), NOW) == "every run"


def test_the_model_is_kept_when_no_trigger_fires():
    stream = _stream(np.zeros(5000))
    config = RetrainConfig(max_age="30d", max_new_rows=10_000, drift=True)
    assert retrain_reason(_active(), stream, None, config, NOW) is None
    assert retrain_reason(_active(), stream, None, RetrainConfig(), NOW) is None


def test_max_age_retrains_an_old_model():
    config = RetrainConfig(max_age="30d")
    stream = _stream(np.zeros(10))
    old = _active(created_at=NOW - timedelta(days=31))
    assert retrain_reason(old, stream, None, config, NOW) == "model is 31 days old (max_age 30 days)"
    young = _active(created_at=NOW - timedelta(days=29, hours=23))
    assert retrain_reason(young, stream, None, config, NOW) is None
    hours = retrain_reason(
        old, stream, None, RetrainConfig(max_age="12h"), NOW - timedelta(days=30, hours=11)
    )
    assert hours == "model is 13 hours old (max_age 12 hours)"


def test_max_new_rows_counts_rows_after_the_training_data():
    stream = _stream(np.zeros(5000))
    trained_to = stream.values.index[499].to_pydatetime()
    active = _active(trained_to=trained_to)
    reason = retrain_reason(active, stream, None, RetrainConfig(max_new_rows=4000), NOW)
    assert reason == "4,500 new rows since training (max_new_rows 4,000)"
    assert retrain_reason(active, stream, None, RetrainConfig(max_new_rows=4501, growth=None), NOW) is None


# -- drift -----------------------------------------------------------------------------------------


@pytest.fixture
def reference() -> np.ndarray:
    """Quantiles of a seeded lognormal 'error' distribution, as a model record keeps them."""
    errors = np.random.default_rng(0).lognormal(-4, 0.5, 5000)
    return np.quantile(errors, np.linspace(0, 1, 1000))


def test_drift_is_detected_on_shifted_errors_only(reference):
    rng = np.random.default_rng(1)
    config = RetrainConfig(drift=True)
    active = _active(reference=reference)
    stream = _stream(np.zeros(10))
    same = rng.lognormal(-4, 0.5, 480)
    assert retrain_reason(active, stream, same, config, NOW) is None
    shifted = rng.lognormal(-4, 0.5, 480) * 1.5
    reason = retrain_reason(active, stream, shifted, config, NOW)
    assert reason is not None
    assert reason.startswith("error distribution drifted: KS p=")
    assert reason.endswith("< 0.01 over 480 recent windows")


def test_drift_is_not_tested_when_off_short_or_without_reference(reference):
    shifted = np.random.default_rng(2).lognormal(-4, 0.5, 480) * 2
    stream = _stream(np.zeros(10))
    active = _active(reference=reference)
    assert retrain_reason(active, stream, shifted, RetrainConfig(), NOW) is None
    assert (
        retrain_reason(active, stream, shifted, RetrainConfig(drift=True, drift_min_windows=500), NOW) is None
    )
    assert retrain_reason(active, stream, None, RetrainConfig(drift=True), NOW) is None
    assert retrain_reason(_active(), stream, shifted, RetrainConfig(drift=True), NOW) is None


def test_drift_sample_leaves_out_the_windows_of_events():
    errors = np.array([0.1, 0.2, 5.0, 6.0, 0.3, 0.15, 1.2])
    scores = WindowScores(starts=np.arange(7), window_errors=errors, step_errors=np.zeros((7, 4)))
    analysis = StreamAnalysis(
        first_row=0,
        threshold=1.0,
        window_scores=scores,
        row_errors=np.zeros(10),
        step_errors=np.zeros(10),
        # The last window is above the threshold but its event was pruned: decided normal.
        flagged_windows=np.array([False, False, True, True, False, False, False]),
        events=[],
        kept=None,
    )
    np.testing.assert_array_equal(drift_sample(analysis), [0.1, 0.2, 0.3, 0.15, 1.2])


# -- rows kept out of training ---------------------------------------------------------------------


def test_rows_in_spans_marks_rows_inside_spans_ends_included():
    index = pd.date_range(START, periods=10, freq="1h")
    spans = [
        (index[2].to_pydatetime(), index[4].to_pydatetime()),
        (index[8].to_pydatetime(), index[-1].to_pydatetime() + timedelta(days=3)),
        (START.to_pydatetime() - timedelta(days=9), START.to_pydatetime() - timedelta(days=8)),
    ]
    assert np.flatnonzero(rows_in_spans(index, spans)).tolist() == [2, 3, 4, 8, 9]
    assert not rows_in_spans(index, []).any()


def _prepared(values: np.ndarray) -> PreparedStream:
    frame = pd.DataFrame(
        {"timestamp": pd.date_range(START, periods=len(values), freq="10min"), "value": values}
    )
    raw = RawStream(name="s", frame=frame, rows=np.arange(2, len(values) + 2), origin="test")
    return prepare_stream(raw, PreparationConfig(), window_length=16)


def _detector() -> LSTMAutoencoderDetector:
    return LSTMAutoencoderDetector(
        window=WindowConfig(length=16, train_stride=4),
        model=ModelConfig(units=8, epochs=2, batch_size=32, patience=2),
        threshold=threshold_config(),
        max_clusters=3,
    )


N_ROWS = 500
EXCLUDED = np.zeros(N_ROWS, dtype=bool)
EXCLUDED[100:120] = True  # in the training part
EXCLUDED[450:455] = True  # in the validation part (the last 20 %)


def _sine(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sin(np.arange(N_ROWS) * 2 * np.pi / 72) + rng.normal(0, 0.05, N_ROWS)


@pytest.fixture(scope="module")
def fitted_with_exclusion() -> LSTMAutoencoderDetector:
    values = _sine()
    values[EXCLUDED] = 1e6
    return _detector().fit(_prepared(values), exclude_rows=EXCLUDED)


def test_excluded_rows_never_reach_the_scaler_or_any_window(fitted_with_exclusion):
    clean = _sine()
    split = int(N_ROWS * 0.8)
    kept = clean[:split][~EXCLUDED[:split]]
    assert fitted_with_exclusion.scaler_.mean[0] == pytest.approx(kept.mean())
    assert fitted_with_exclusion.scaler_.scale[0] == pytest.approx(kept.std())
    # Had any window touched an excluded row, other values there would change the result.
    other = clean.copy()
    other[EXCLUDED] = -42.0
    again = _detector().fit(_prepared(other), exclude_rows=EXCLUDED)
    assert again.threshold_ == fitted_with_exclusion.threshold_
    np.testing.assert_array_equal(again.reference_errors_, fitted_with_exclusion.reference_errors_)
    for mine, theirs in zip(again.weights_, fitted_with_exclusion.weights_, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    # Training pairs (a window and the horizon rows the default prediction variant learns after it)
    # start every 4 rows in the first 400; those overlapping rows 100-119 are gone.
    span = 16 + ModelConfig().horizon
    all_train = len(range(0, split - span + 1, 4))
    overlapping = len([s for s in range(0, split - span + 1, 4) if s <= 119 and s + span - 1 >= 100])
    assert fitted_with_exclusion.n_training_windows_ == all_train - overlapping
    assert fitted_with_exclusion.threshold_ < 10


def test_exclude_rows_must_be_a_mask_of_the_rows():
    with pytest.raises(ValueError, match=r"exclude_rows must be a boolean array of shape \(500,\)"):
        _detector().fit(_prepared(_sine()), exclude_rows=np.zeros(10, dtype=bool))


def test_reference_errors_are_a_sorted_sample_below_the_threshold_and_may_be_missing(
    tmp_path, fitted_with_exclusion
):
    reference = fitted_with_exclusion.reference_errors_
    assert 0 < len(reference) <= 1000
    assert np.all(np.diff(reference) >= 0)
    assert reference.max() <= fitted_with_exclusion.threshold_
    assert fitted_with_exclusion.record()["reference_errors"] == reference.tolist()
    fitted_with_exclusion.save(tmp_path / "v1")
    record_path = tmp_path / "v1" / RECORD_FILE
    record = json.loads(record_path.read_text())
    del record["reference_errors"]
    record_path.write_text(json.dumps(record))
    assert len(load_detector(tmp_path / "v1").reference_errors_) == 0


# -- repository ------------------------------------------------------------------------------------


def test_repository_reads_the_active_model_and_confirmed_spans(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'a.db'}")
    upgrade_schema(engine)
    t = [START.to_pydatetime() + timedelta(hours=h) for h in range(10)]
    with engine.begin() as connection:
        run_id = connection.execute(
            insert(Run).values(started_at=NOW, status="succeeded", command="run", config={}).returning(Run.id)
        ).scalar_one()
        stream_id = connection.execute(
            insert(Stream).values(name="s", channels=["value"]).returning(Stream.id)
        ).scalar_one()
        model = {
            "stream_id": stream_id,
            "trained_from": t[0],
            "threshold": 1.0,
            "threshold_method": "mad",
            "artifact": "models/s",
        }
        connection.execute(
            insert(Model).values(version=1, created_at=NOW, trained_to=t[1], params={}, active=False, **model)
        )
        active_id = connection.execute(
            insert(Model)
            .values(
                version=2,
                created_at=NOW,
                trained_to=t[5],
                params={"reference_errors": [0.1, 0.2]},
                active=True,
                **model,
            )
            .returning(Model.id)
        ).scalar_one()
        anomaly = {
            "stream_id": stream_id,
            "model_id": active_id,
            "run_id": run_id,
            "peak_error": 2.0,
            "threshold": 1.0,
            "severity": 2.0,
            "n_windows": 1,
        }
        for (start, end), status in [((6, 7), "confirmed"), ((1, 2), "confirmed"), ((3, 4), "dismissed")]:
            connection.execute(
                insert(Anomaly).values(
                    start_ts=t[start], end_ts=t[end], peak_ts=t[start], status=status, **anomaly
                )
            )
        connection.execute(
            insert(Anomaly).values(start_ts=t[8], end_ts=t[9], peak_ts=t[8], status="open", **anomaly)
        )

    with engine.connect() as connection:
        info = active_model_info(connection, stream_id)
        assert (info.model_id, info.version, info.trained_to, info.created_at) == (active_id, 2, t[5], NOW)
        assert info.reference_errors == (0.1, 0.2)
        assert reviewed_anomaly_spans(connection, stream_id) == [(t[1], t[2]), (t[6], t[7])]
        assert reviewed_anomaly_spans(connection, stream_id, ("confirmed", "dismissed")) == [
            (t[1], t[2]),
            (t[3], t[4]),
            (t[6], t[7]),
        ]
        state = stream_state(connection, "s")
        assert state.active_model == info
        assert state.active_model_id == active_id
        assert state.latest_version == 2
        assert state.confirmed_spans == ((t[1], t[2]), (t[6], t[7]))
        assert active_model_info(connection, None) is None
        assert reviewed_anomaly_spans(connection, None) == []
        new = stream_state(connection, "never seen")
        assert (new.active_model, new.confirmed_spans) == (None, ())
    engine.dispose()


def test_growth_retrains_each_time_the_history_spans_that_many_times_the_training_data():
    stream = _stream(np.zeros(1000))  # the active model was fitted on the rows up to row 499 or 500
    doubled = _active(trained_to=stream.values.index[499].to_pydatetime())
    reason = retrain_reason(doubled, stream, None, RetrainConfig(), NOW)
    assert reason == "history spans 2.0x what the model was trained on (growth 2)"
    not_yet = _active(trained_to=stream.values.index[500].to_pydatetime())
    assert retrain_reason(not_yet, stream, None, RetrainConfig(), NOW) is None
    assert retrain_reason(not_yet, stream, None, RetrainConfig(growth=1.9), NOW) is not None
    assert retrain_reason(doubled, stream, None, RetrainConfig(growth=None), NOW) is None
    assert RetrainConfig.model_validate({"growth": False}).growth is None  # TOML's way to say none
    with pytest.raises(ValueError, match="greater than 1"):
        RetrainConfig(growth=1)


def test_scheduled_runs_train_a_new_version_each_time_the_history_has_doubled(tmp_path):
    from pipelines import Command, execute
    from tests.conftest import sensor_frame, tiny_config, write_long_csv

    data = tmp_path / "s.csv"
    config = tiny_config(data, tmp_path).model_copy(update={"detector": "rolling_zscore"})
    frame = sensor_frame("s", n=1300, seed=5)
    versions = []
    for rows in (300, 500, 600, 700, 1300):  # the history doubles at rows 600 and 1,200
        write_long_csv(data, [frame.iloc[:rows]])
        assert execute(config, Command.RUN).status == "succeeded"
        engine = open_engine(config.storage.db)
        with engine.connect() as connection:
            versions.append(active_model_info(connection, 1).version)
        engine.dispose()
    assert versions == [1, 1, 2, 2, 3]
