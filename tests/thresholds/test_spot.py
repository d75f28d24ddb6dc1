import numpy as np
import pytest
from pydantic import ValidationError

from anomaly.thresholds import ParetoTail, SpotConfig, SpotThreshold, fit_pareto_tail


def test_spot_on_exponential_errors_is_close_to_the_analytic_quantile():
    errors = np.random.default_rng(3).exponential(1.0, size=200_000)
    threshold = SpotThreshold(SpotConfig(spot_risk=1e-4)).fit(errors).threshold_
    # P(error > z) = exp(-z) = 1e-4; the tail above the 0.98 quantile is extrapolated 200 times further
    assert threshold == pytest.approx(-np.log(1e-4), rel=0.05)


def test_spot_on_a_heavy_tail_fits_a_positive_shape_and_its_quantile():
    errors = np.random.default_rng(4).pareto(3.0, size=200_000)  # Lomax: P(X > x) = (1 + x)^-3
    tail = fit_pareto_tail(errors, 0.98)
    assert 0.25 < tail.gamma < 0.45  # 1 / 3 in theory
    assert tail.threshold(1e-4) == pytest.approx(1e-4 ** (-1 / 3) - 1, rel=0.1)


def test_spot_threshold_formula():
    # 20 of 1000 errors exceed t = 1, so q * n / N_t = 1e-3 * 1000 / 20 = 0.05
    assert ParetoTail(1.0, 0.0, 2.0, 1000, 20).threshold(1e-3) == pytest.approx(1 - 2 * np.log(0.05))
    assert ParetoTail(1.0, 0.5, 2.0, 1000, 20).threshold(1e-3) == pytest.approx(1 + 4 * (0.05**-0.5 - 1))
    with pytest.raises(ValueError, match="risk"):
        ParetoTail(1.0, 0.0, 2.0, 1000, 20).threshold(0.05)


def test_spot_with_few_excesses_takes_an_exponential_tail():
    errors = np.random.default_rng(5).exponential(1.0, size=300)  # 6 errors above the 0.98 quantile
    tail = fit_pareto_tail(errors, 0.98)
    excesses = errors[errors > tail.initial_threshold] - tail.initial_threshold
    assert tail.n_excesses == len(excesses) < 10
    assert (tail.gamma, tail.sigma) == (0.0, pytest.approx(excesses.mean()))


def test_spot_falls_back_to_moments_when_the_likelihood_fit_fails(monkeypatch):
    import scipy.stats

    def failing_fit(*args, **kwargs):
        raise RuntimeError("no convergence")

    monkeypatch.setattr(scipy.stats.genpareto, "fit", failing_fit)
    errors = np.random.default_rng(6).exponential(1.0, size=50_000)
    tail = fit_pareto_tail(errors, 0.98)
    excesses = errors[errors > tail.initial_threshold] - tail.initial_threshold
    ratio = excesses.mean() ** 2 / excesses.var(ddof=1)
    assert tail.gamma == pytest.approx(0.5 * (1 - ratio))
    assert abs(tail.gamma) < 0.1


def test_spot_with_too_few_errors_is_a_clear_error():
    with pytest.raises(ValueError, match="SPOT needs at least 250 errors"):
        SpotThreshold(SpotConfig()).fit(np.random.default_rng(7).exponential(size=100))


def test_spot_risk_must_lie_inside_the_tail():
    assert (SpotConfig().spot_initial_quantile, SpotConfig().spot_risk) == (0.98, 1e-4)
    with pytest.raises(ValidationError, match="spot_risk must be below 1 - spot_initial_quantile"):
        SpotConfig(spot_initial_quantile=0.99, spot_risk=0.02)
