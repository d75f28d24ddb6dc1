"""The noise-level detector flags what raises a series' row-to-row movement and leaves its level alone:
a burst of noise, and a frozen reading (by the jump where it thaws), on a sine whose range they keep."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly.config import WindowConfig
from anomaly.decisions import decide
from anomaly.detectors import NoiseLevelDetector
from anomaly.detectors.noise_level import RECENT_WINDOWS
from anomaly.thresholds import threshold_config
from tests.conftest import prepared_stream, sensor_frame

LENGTH = 48
CHANGED = slice(1200, 1224)


def _detector() -> NoiseLevelDetector:
    window = WindowConfig(length=LENGTH, train_stride=4)
    return NoiseLevelDetector(window=window, threshold=threshold_config({"method": "block_maxima"}))


def _stream(change: str):
    frame = sensor_frame("s", n=1500, seed=5)
    values = frame["value"].to_numpy().copy()
    if change == "burst":
        rng = np.random.default_rng(6)
        values[CHANGED] += rng.normal(0, 0.3, CHANGED.stop - CHANGED.start)  # six-fold noise
    else:
        values[CHANGED] = values[CHANGED.start - 1]  # the reading freezes
    return prepared_stream(frame.assign(value=values), window=LENGTH)


@pytest.mark.parametrize("change", ["burst", "stuck"])
def test_a_change_of_movement_is_one_event_and_nothing_else_is_flagged(change):
    stream = _stream(change)
    training = stream.values.index < stream.values.index[1000]
    detector = _detector().fit(stream, exclude_rows=~training)

    decisions = decide(detector, stream, detector.score_samples(stream, first_row=1000), first_row=1000)

    assert len(decisions.events) == 1
    event = decisions.events[0]
    assert event.first_row <= CHANGED.stop and event.last_row >= CHANGED.start
    assert event.severity > 1.5


def test_the_level_and_shape_of_a_window_do_not_matter():
    """The same noisy sine shifted up and stretched: the same movement after standardisation, the same
    errors (within rounding), since the detector sees only how the series moves from row to row."""
    moved = prepared_stream(
        sensor_frame("s", n=1500, seed=5).assign(value=lambda f: 40 + 3 * f["value"]), window=LENGTH
    )
    plain = prepared_stream(sensor_frame("s", n=1500, seed=5), window=LENGTH)
    plain_detector = _detector().fit(plain)
    moved_detector = _detector().fit(moved)

    np.testing.assert_allclose(
        moved_detector.score_samples(moved).window_errors,
        plain_detector.score_samples(plain).window_errors,
        rtol=1e-9,
        atol=1e-9,
    )
    assert plain_detector.threshold_ > 0


def test_a_lasting_change_of_movement_is_news_while_it_begins_and_rarely_once_it_has_lasted():
    # from row 1500 on the sensor stays three times as noisy: against the fitted usual alone every
    # window to the end is unusual; against the recent usual too, the change is one event at its start,
    # over within RECENT_WINDOWS window lengths, and few windows after that are flagged
    frame = sensor_frame("s", n=3000, seed=5)
    values = frame["value"].to_numpy().copy()
    values[1500:] += np.random.default_rng(7).normal(0, 0.15, 1500)
    stream = prepared_stream(frame.assign(value=values), window=LENGTH)
    training = stream.values.index < stream.values.index[1000]
    detector = _detector().fit(stream, exclude_rows=~training)

    scores = detector.score_samples(stream, first_row=1000)
    first, *later = decide(detector, stream, scores, first_row=1000).events
    settled = RECENT_WINDOWS * LENGTH
    assert 1500 - LENGTH <= first.first_row <= 1500 + LENGTH and first.last_row < 1500 + settled + LENGTH
    assert all(event.first_row > 1500 + settled for event in later)
    late = scores.starts >= 1500 + settled + LENGTH
    assert (scores.window_errors[late] > detector.threshold_).mean() < 0.1
    against_fitted = [_movement_of(detector, stream, start) for start in scores.starts[late]]
    unusual = np.log(np.array(against_fitted) / detector.usual_movement_).max(axis=1) > detector.threshold_
    assert unusual.mean() > 0.9


def test_scores_of_new_rows_equal_those_of_scoring_everything():
    stream = _stream("burst")
    detector = _detector().fit(stream)
    whole = detector.score_samples(stream)
    later = detector.score_samples(stream, first_row=1100)
    np.testing.assert_array_equal(
        whole.window_errors[np.isin(whole.starts, later.starts)], later.window_errors
    )


def _movement_of(detector: NoiseLevelDetector, stream, start: int) -> np.ndarray:
    """The RMS first difference of the window at ``start``, per channel, in the detector's units."""
    window = detector.scaler_.transform(stream.values.to_numpy(dtype=float))[start : start + LENGTH]
    return np.sqrt((np.diff(window, axis=0) ** 2).mean(axis=0))
