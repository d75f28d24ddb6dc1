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
    # The first `horizon` windows of a segment have no prediction that ends inside them: no target at
    # all, rather than one borrowed from rows after their end.
    assert not targets.valid[[0, 1, 4, 5]].any()
    # A window `horizon` rows into its segment is the first one judged: from the segment's first window.
    first = prediction_targets(np.array([0] * 30 + [1] * 25), np.array([34]), length=16, horizon=4)
    np.testing.assert_array_equal(first.inputs, [30])
    np.testing.assert_array_equal(first.rows[0], [46, 47, 48, 49])
    assert first.valid.all()
