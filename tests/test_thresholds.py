import numpy as np
import pytest

from anomaly.config import ThresholdConfig
from anomaly.thresholds import learn_threshold


@pytest.mark.parametrize("method", ["block_maxima", "mad", "quantile"])
def test_threshold_separates_normal_errors_from_outliers(method):
    rng = np.random.default_rng(0)
    normal = rng.gamma(2.0, 0.01, size=2000)
    threshold = learn_threshold(normal, ThresholdConfig(method=method))
    assert np.mean(normal > threshold) < 0.02
    assert threshold < 1.0  # an error 50x the typical one is flagged


def test_mad_threshold_is_robust_to_a_few_anomalies():
    rng = np.random.default_rng(1)
    normal = rng.normal(1.0, 0.1, size=1000)
    contaminated = np.concatenate([normal, np.full(20, 100.0)])
    clean = learn_threshold(normal, ThresholdConfig(method="mad", k=5))
    dirty = learn_threshold(contaminated, ThresholdConfig(method="mad", k=5))
    assert dirty == pytest.approx(clean, rel=0.05)
    assert dirty < 100.0


def test_mad_formula():
    errors = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    # median 3, MAD 1
    assert learn_threshold(errors, ThresholdConfig(method="mad", k=2)) == pytest.approx(3 + 2 * 1.4826)


def test_constant_errors_never_flag_normal_data():
    errors = np.full(100, 0.25)
    for method in ("block_maxima", "mad", "quantile"):
        assert learn_threshold(errors, ThresholdConfig(method=method)) > 0.25


def test_no_finite_errors_is_an_error():
    with pytest.raises(ValueError, match="no finite"):
        learn_threshold(np.array([np.nan]), ThresholdConfig())


def test_block_maxima_sits_above_recurring_normal_peaks_and_below_a_rare_anomaly():
    rng = np.random.default_rng(2)
    errors = rng.gamma(2.0, 0.01, size=2000)
    errors[::100] = 0.3  # a hard but normal pattern, recurring in every block
    errors[1500:1520] = 1.0  # one anomaly
    threshold = learn_threshold(errors, ThresholdConfig(method="block_maxima"))
    assert 0.3 < threshold < 1.0
    assert threshold == pytest.approx(1.2 * 0.3)


def test_block_maxima_formula():
    errors = np.arange(1.0, 11.0)  # ten blocks of one error each
    config = ThresholdConfig(method="block_maxima", blocks=10, block_quantile=0.5, margin=2.0)
    assert learn_threshold(errors, config) == pytest.approx(2.0 * 5.5)
