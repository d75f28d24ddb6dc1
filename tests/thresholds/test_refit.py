"""Refitting without the flagged windows: anomalies in the training errors no longer lift the threshold."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly.thresholds import fit_setting_aside_flagged, threshold_config, threshold_for
from anomaly.thresholds.refit import MAX_SET_ASIDE

WINDOW = 16


def _contaminated() -> tuple[np.ndarray, list[slice]]:
    """Stride-1 window errors of normal noise with four anomalies, in four of the ten blocks."""
    rng = np.random.default_rng(0)
    errors = rng.gamma(4.0, 0.05, size=3000)
    bursts = [slice(200, 230), slice(900, 930), slice(1700, 1730), slice(2500, 2530)]
    for burst, height in zip(bursts, (2.0, 2.5, 3.0, 4.0), strict=True):
        errors[burst] += height
    return errors, bursts


@pytest.mark.parametrize("method", ["block_maxima", "dynamic"])
def test_refits_bring_a_lifted_threshold_below_the_anomalies_and_above_the_noise(method):
    errors, bursts = _contaminated()
    starts = np.arange(len(errors))
    plain = threshold_for(threshold_config(method=method)).fit(errors)
    refitted = fit_setting_aside_flagged(
        threshold_for(threshold_config(method=method, refits=5)), errors, starts, WINDOW
    )
    smallest_anomaly = min(errors[burst].max() for burst in bursts)
    normal = np.ones(len(errors), dtype=bool)
    for burst in bursts:
        normal[burst] = False
    assert plain.threshold_ > smallest_anomaly  # lifted above an anomaly by the others
    assert refitted.threshold_ < smallest_anomaly
    assert np.mean(errors[normal] > refitted.threshold_) < 0.005


def test_no_refits_is_the_plain_fit_and_refits_stop_when_nothing_changes():
    errors, _ = _contaminated()
    starts = np.arange(len(errors))
    plain = threshold_for(threshold_config()).fit(errors)
    none = fit_setting_aside_flagged(threshold_for(threshold_config(refits=0)), errors, starts, WINDOW)
    assert none.threshold_ == plain.threshold_
    five = fit_setting_aside_flagged(threshold_for(threshold_config(refits=5)), errors, starts, WINDOW)
    ten = fit_setting_aside_flagged(threshold_for(threshold_config(refits=10)), errors, starts, WINDOW)
    assert five.threshold_ == ten.threshold_  # converged


def test_refits_never_set_aside_more_than_their_cap():
    errors = np.random.default_rng(1).uniform(0, 1, size=2000)  # no tail to remove
    starts = np.arange(len(errors))
    quantile = fit_setting_aside_flagged(
        threshold_for(threshold_config(method="quantile", quantile=0.9, refits=10)), errors, starts, WINDOW
    )
    assert np.mean(errors > quantile.threshold_) <= MAX_SET_ASIDE + 0.1
    assert quantile.threshold_ >= np.quantile(errors, 1 - MAX_SET_ASIDE - 0.1)
