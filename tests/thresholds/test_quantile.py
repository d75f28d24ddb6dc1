import numpy as np
import pytest

from anomaly.thresholds import QuantileConfig, QuantileThreshold


def test_quantile_formula():
    errors = np.arange(0.0, 101.0)
    assert QuantileThreshold(QuantileConfig(quantile=0.9)).fit(errors).threshold_ == pytest.approx(90.0)
    assert QuantileConfig().quantile == 0.995
