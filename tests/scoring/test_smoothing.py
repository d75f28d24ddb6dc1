"""EWMA smoothing and trailing z-scores of window errors, in time order and restarting at gaps."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly.scoring import ewma, ewma_warm_up, trailing_z


def test_ewma_smooths_within_runs_and_restarts_after_a_gap():
    values = np.array([1.0, 3.0, 3.0, 10.0, 10.0])
    starts = np.array([0, 1, 2, 40, 41])
    smoothed = ewma(values, starts, alpha=0.5)
    np.testing.assert_allclose(smoothed, [1.0, 2.0, 2.5, 10.0, 10.0])
    assert ewma_warm_up(None) == 0 and ewma_warm_up(1.0) == 0
    assert 0.5 ** ewma_warm_up(0.5) <= 1e-6 < 0.5 ** (ewma_warm_up(0.5) - 1)


def test_trailing_z_scores_each_error_against_the_ones_before_it_within_a_run():
    values = np.array([1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 9.0, 5.0, 5.0])
    starts = np.array([*range(12), 12, 50, 51])
    z = trailing_z(values, starts, windows=12)
    before = values[:12]
    assert z[12] == pytest.approx((9.0 - before.mean()) / before.std(ddof=1))
    assert (z[:10] == 0).all()  # fewer than 10 errors before them: no judgement
    assert z[10] == pytest.approx((3.0 - values[:10].mean()) / values[:10].std(ddof=1))
    assert (z[13:] == 0).all()  # a gap restarts the history
    steady = trailing_z(np.r_[np.full(20, 1.0), 1.05], np.arange(21), windows=20)
    assert steady[-1] == pytest.approx(0.05 / 0.1)  # the spread floor: 10% of the mean
