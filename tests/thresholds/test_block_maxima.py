import numpy as np
import pytest

from anomaly.thresholds import BlockMaximaConfig, BlockMaximaThreshold


def test_block_maxima_sits_above_recurring_normal_peaks_and_below_a_rare_anomaly():
    rng = np.random.default_rng(2)
    errors = rng.gamma(2.0, 0.01, size=2000)
    errors[::100] = 0.3  # a hard but normal pattern, recurring in every block
    errors[1500:1520] = 1.0  # one anomaly
    threshold = BlockMaximaThreshold(BlockMaximaConfig()).fit(errors).threshold_
    assert 0.3 < threshold < 1.0
    assert threshold == pytest.approx(BlockMaximaConfig().margin * 0.3)


def test_block_maxima_formula():
    errors = np.arange(1.0, 11.0)  # ten blocks of one error each
    config = BlockMaximaConfig(blocks=10, block_quantile=0.5, margin=2.0)
    assert BlockMaximaThreshold(config).fit(errors).threshold_ == pytest.approx(2.0 * 5.5)


def test_block_maxima_defaults():
    assert BlockMaximaConfig() == BlockMaximaConfig(blocks=10, block_quantile=0.75, margin=1.35)
