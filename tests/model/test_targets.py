"""Which prediction judges which window (``anomaly.model.targets``)."""

from __future__ import annotations

import numpy as np

from anomaly.model.targets import prediction_targets


def test_a_window_is_judged_by_the_prediction_of_its_last_rows():
    segment = np.array([0] * 30 + [1] * 17)
    targets = prediction_targets(segment, np.array([0, 2, 10, 14, 30, 31]), length=16, horizon=4)
    # Windows at least `horizon` rows into their segment: predicted from 4 rows earlier, their last 4 rows.
    np.testing.assert_array_equal(targets.inputs[2:4], [6, 10])
    np.testing.assert_array_equal(targets.offsets[2], [12, 13, 14, 15])
    assert targets.valid[2:4].all()
    # The first windows of a segment share its first window's prediction; a short segment cuts it off.
    np.testing.assert_array_equal(targets.inputs[[0, 1, 4, 5]], [0, 0, 30, 30])
    np.testing.assert_array_equal(targets.rows[1], [16, 17, 18, 19])
    np.testing.assert_array_equal(targets.valid[4], [True, False, False, False])
