"""The noise-level detector flags what raises a series' row-to-row movement and leaves its level alone:
a burst of noise, and a frozen reading (by the jump where it thaws), on a sine whose range they keep."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly.config import WindowConfig
from anomaly.decisions import decide
from anomaly.detectors import NoiseLevelDetector
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
