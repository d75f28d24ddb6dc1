import numpy as np
import pytest

from anomaly.thresholds import MadConfig, MadThreshold


def test_mad_threshold_is_robust_to_a_few_anomalies():
    rng = np.random.default_rng(1)
    normal = rng.normal(1.0, 0.1, size=1000)
    contaminated = np.concatenate([normal, np.full(20, 100.0)])
    clean = MadThreshold(MadConfig(k=5)).fit(normal).threshold_
    dirty = MadThreshold(MadConfig(k=5)).fit(contaminated).threshold_
    assert dirty == pytest.approx(clean, rel=0.05)
    assert dirty < 100.0


def test_mad_formula():
    errors = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    # median 3, MAD 1
    assert MadThreshold(MadConfig(k=2)).fit(errors).threshold_ == pytest.approx(3 + 2 * 1.4826)
    assert MadConfig().k == 6.0
