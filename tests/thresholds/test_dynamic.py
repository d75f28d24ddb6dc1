import numpy as np
import pytest
from pydantic import ValidationError

from anomaly.thresholds import DynamicConfig, DynamicThreshold, dynamic_threshold, prune_sequences


def test_dynamic_threshold_separates_injected_errors_from_gaussian_noise():
    rng = np.random.default_rng(8)
    normal = rng.normal(1.0, 0.1, size=2000)
    errors = normal.copy()
    for start in (300, 900, 1500):
        errors[start : start + 5] = rng.normal(3.0, 0.05, size=5)
    threshold = DynamicThreshold(DynamicConfig()).fit(errors).threshold_
    injected = np.zeros(errors.size, dtype=bool)
    for start in (300, 900, 1500):
        injected[start : start + 5] = True
    assert errors[~injected].max() < threshold < errors[injected].min()


def test_dynamic_threshold_takes_the_largest_candidate_when_none_qualifies():
    rng = np.random.default_rng(9)
    errors = rng.normal(1.0, 0.1, size=2000)
    errors[::100] = 5.0  # 20 separate sequences at every candidate that flags anything: over the limit of 5
    expected = errors.mean() + 10.0 * errors.std()
    assert dynamic_threshold(errors, (2.0, 10.0, 0.5), buffer=10) == pytest.approx(expected)


def _telemanom_prune(maxima, max_normal, p):
    """telemanom's walk, written out: indices of the sequences it removes."""
    ladder = [*sorted(maxima, reverse=True), max_normal]
    to_remove = []
    for i in range(len(ladder) - 1):
        if (ladder[i] - ladder[i + 1]) / ladder[i] < p:
            to_remove.append(maxima.index(ladder[i]))
        else:
            to_remove = []
    return sorted(to_remove)


def test_pruning_keeps_sequences_above_the_last_clear_decrease():
    # sorted: 10, 9.5, 5.0, 4.8, then the largest normal error 4.5; decreases 5%, 47%, 4%, 6%
    maxima = np.array([5.0, 10.0, 4.8, 9.5])
    keep = prune_sequences(maxima, max_normal_error=4.5, min_decrease=0.13)
    # 10 is within 13% of 9.5 but kept: the clear drop from 9.5 to 5.0 comes after it
    np.testing.assert_array_equal(keep, [False, True, False, True])
    assert _telemanom_prune(maxima.tolist(), 4.5, 0.13) == [0, 2]


def test_pruning_against_the_largest_normal_error():
    assert not prune_sequences(np.array([1.05]), max_normal_error=1.0, min_decrease=0.13)[0]
    assert prune_sequences(np.array([2.0]), max_normal_error=1.0, min_decrease=0.13)[0]
    assert prune_sequences(np.array([]), max_normal_error=1.0, min_decrease=0.13).size == 0


@pytest.mark.parametrize("seed", range(5))
def test_pruning_agrees_with_telemanoms_walk(seed):
    rng = np.random.default_rng(seed)
    maxima = rng.uniform(1.0, 2.0, size=8)
    keep = prune_sequences(maxima, max_normal_error=0.95, min_decrease=0.05)
    assert np.flatnonzero(~keep).tolist() == _telemanom_prune(maxima.tolist(), 0.95, 0.05)


def test_the_dynamic_threshold_keeps_the_events_pruning_keeps():
    fitted = DynamicThreshold(DynamicConfig()).fit(np.random.default_rng(8).normal(1.0, 0.1, size=500))
    peaks = np.array([5.0, 10.0, 4.8, 9.5])
    np.testing.assert_array_equal(fitted.keep_events(peaks, 4.5), [False, True, False, True])
    looser = DynamicThreshold(DynamicConfig(dynamic_min_decrease=0.04)).fit(np.ones(10))
    np.testing.assert_array_equal(looser.keep_events(peaks, 4.5), prune_sequences(peaks, 4.5, 0.04))
    assert looser.keep_events(peaks, 4.5).all()


def test_dynamic_config_defaults_and_checks():
    assert DynamicConfig() == DynamicConfig(
        dynamic_z_range=(2.0, 10.0, 0.5), dynamic_buffer=10, dynamic_min_decrease=0.13
    )
    with pytest.raises(ValidationError, match="0 < start <= stop"):
        DynamicConfig(dynamic_z_range=(5.0, 2.0, 0.5))
    with pytest.raises(ValidationError, match="step > 0"):
        DynamicConfig(dynamic_z_range=(2.0, 10.0, 0.0))
    with pytest.raises(ValidationError, match="dynamic_min_decrease"):
        DynamicConfig(dynamic_min_decrease=0)
