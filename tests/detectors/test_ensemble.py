"""The seasonal naive detector and the ensemble: what each adds, beyond the contract suite's checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anomaly import events
from anomaly.config import SourceConfig, WindowConfig, config_from_dict
from anomaly.decisions import decide
from anomaly.detectors import EnsembleDetector, RollingZScoreDetector, SeasonalNaiveDetector, detector_for
from anomaly.errors import ConfigError
from anomaly.thresholds import threshold_config
from tests.conftest import prepared_stream

DAY = 72  # rows of 20 minutes
WINDOW = WindowConfig(length=16, train_stride=4)


def daily_frame(n_days: int, *, seed: int = 0, flat_day: int | None = None) -> pd.DataFrame:
    """A stream of a daily cycle on a 20-minute grid; on ``flat_day`` the afternoon rise does not come."""
    rng = np.random.default_rng(seed)
    n = n_days * DAY
    values = np.sin(np.arange(n) * 2 * np.pi / DAY) + rng.normal(0, 0.05, n)
    if flat_day is not None:
        rise = slice(flat_day * DAY + 10, flat_day * DAY + 30)
        values[rise] = values[flat_day * DAY + 10]
    timestamps = pd.date_range("2026-01-01", periods=n, freq="20min", tz="UTC")
    return pd.DataFrame(
        {"timestamp": timestamps.strftime("%Y-%m-%dT%H:%M:%SZ"), "stream": "s", "value": values}
    )


def _seasonal() -> SeasonalNaiveDetector:
    return SeasonalNaiveDetector(window=WINDOW, threshold=threshold_config({"refits": 0}))


def test_the_seasonal_detector_flags_the_day_whose_rise_did_not_come_and_no_other():
    stream = prepared_stream(daily_frame(8, flat_day=6))
    detector = _seasonal().fit(stream, exclude_rows=np.arange(len(stream.values)) >= 6 * DAY)
    assert detector.period_ == DAY
    flagged = detector.score_samples(stream).starts[detector.predict(stream)]
    assert len(flagged) and (flagged + 16 > 6 * DAY + 10).all() and (flagged < 6 * DAY + 30).all()


def test_without_a_calendar_cycle_the_seasonal_detector_says_nothing():
    frame = daily_frame(8)
    frame["value"] = np.random.default_rng(1).normal(size=len(frame))
    stream = prepared_stream(frame)
    detector = _seasonal().fit(stream)
    assert detector.period_ is None
    assert np.isnan(detector.score_samples(stream).window_errors).all()
    assert not detector.predict(stream).any()


def test_the_ensemble_error_is_the_largest_member_ratio():
    stream = prepared_stream(daily_frame(8, flat_day=6))
    threshold = threshold_config({"refits": 0})
    members = [RollingZScoreDetector(window=WINDOW, threshold=threshold), _seasonal()]
    ensemble = EnsembleDetector(members=members, window=WINDOW, threshold=threshold).fit(stream)
    scores = ensemble.score_samples(stream)
    ratios = np.stack([m.score_samples(stream).window_errors / m.threshold_ for m in members])
    np.testing.assert_allclose(scores.window_errors, np.fmax(ratios[0], ratios[1]))
    assert ensemble.threshold_ == 1.0
    np.testing.assert_array_equal(ensemble.predict(stream), (ratios > 1).any(axis=0))
    assert (ensemble.reference_errors_ <= 1.0).all()
    np.testing.assert_array_equal(ensemble.transform(stream), members[0].transform(stream))


def test_the_ensemble_is_configured_by_name():
    config = config_from_dict(
        {
            "source": SourceConfig(path="x").model_dump(),
            "detector": "ensemble",
            "ensemble": {"members": ["rolling_zscore", "seasonal_naive"]},
        }
    )
    detector = detector_for(config)
    assert isinstance(detector, EnsembleDetector)
    assert [member.name for member in detector.members] == ["rolling_zscore", "seasonal_naive"]


def test_an_unknown_or_nested_member_is_a_config_error():
    for members in (["lstm_autoencoder", "nope"], ["ensemble"]):
        with pytest.raises(ConfigError, match="ensemble member"):
            config_from_dict(
                {"source": {"path": "x"}, "detector": "ensemble", "ensemble": {"members": members}}
            )


def test_an_event_needs_as_few_flagged_windows_as_the_quickest_member_needs():
    # the rolling z-score's error is its window's last row's, so one flagged window can be a whole
    # spike; window-wide errors need events.MIN_FLAGGED_WINDOWS, and an ensemble the fewest of its members'
    threshold = threshold_config({"refits": 0})
    zscore = RollingZScoreDetector(window=WINDOW, threshold=threshold)
    seasonal = _seasonal()
    assert zscore.windows_to_confirm == 1
    assert seasonal.windows_to_confirm == events.MIN_FLAGGED_WINDOWS > 1
    assert EnsembleDetector(members=[seasonal], window=WINDOW, threshold=threshold).windows_to_confirm > 1
    both = EnsembleDetector(members=[seasonal, zscore], window=WINDOW, threshold=threshold)
    assert both.windows_to_confirm == 1


def test_a_three_row_spike_is_an_event_for_the_rolling_z_score():
    frame = daily_frame(8)
    frame.loc[400:402, "value"] += 6.0
    stream = prepared_stream(frame)
    detector = RollingZScoreDetector(window=WINDOW, threshold=threshold_config({"refits": 0})).fit(stream)
    found = decide(detector, stream, detector.score_samples(stream)).events
    assert any(event.first_row <= 400 <= event.last_row + 2 for event in found)
