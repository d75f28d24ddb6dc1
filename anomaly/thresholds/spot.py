"""SPOT: peaks over threshold (Siffer et al., KDD 2017).

Extreme value theory says the excesses over a high threshold t follow a generalised Pareto
distribution (GPD) whatever the errors' own distribution, so a threshold for a risk far below what
the data can show empirically (1e-4 of windows) can be extrapolated from the tail instead of being a
quantile the sample is too small to estimate.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from anomaly.thresholds.base import BaseThresholdConfig, Threshold
from anomaly.thresholds.registry import register_threshold

MIN_EXCESSES = 5
MIN_EXCESSES_FOR_SHAPE = 10


class SpotConfig(BaseThresholdConfig):
    """``spot``: the error exceeded with probability ``spot_risk`` under a generalised Pareto tail."""

    method: Literal["spot"] = "spot"
    spot_initial_quantile: float = Field(
        0.98,
        gt=0,
        lt=1,
        description="quantile of the errors taken as the initial threshold t, whose excesses are "
        "fitted with a generalised Pareto distribution",
    )
    spot_risk: float = Field(
        1e-4,
        gt=0,
        lt=1,
        description="probability that a normal window's error exceeds the threshold (the risk q); "
        "must be below 1 - spot_initial_quantile",
    )

    @model_validator(mode="after")
    def _risk_inside_the_tail(self) -> SpotConfig:
        if self.spot_risk >= 1 - self.spot_initial_quantile:
            raise ValueError(
                "spot_risk must be below 1 - spot_initial_quantile (the share of errors in the tail)"
            )
        return self


@register_threshold
class SpotThreshold(Threshold[SpotConfig]):
    """The SPOT threshold at ``spot_risk``, from the tail above the ``spot_initial_quantile``."""

    config_type = SpotConfig

    def _fit_core(self, errors: np.ndarray, labelled: np.ndarray | None) -> float:
        return spot_threshold(errors, self.config.spot_initial_quantile, self.config.spot_risk)


@dataclass(frozen=True)
class ParetoTail:
    """A GPD fitted to the excesses over ``initial_threshold``: shape ``gamma`` (> 0 heavy tail, 0
    exponential, < 0 bounded), scale ``sigma``, with ``n_excesses`` of ``n_errors`` errors above it."""

    initial_threshold: float
    gamma: float
    sigma: float
    n_errors: int
    n_excesses: int

    def threshold(self, risk: float) -> float:
        """The error a normal window exceeds with probability ``risk`` (z_q in the paper); the initial
        threshold itself when no error exceeds it (a flat top leaves no tail to extrapolate)."""
        if self.n_excesses == 0:
            return self.initial_threshold
        ratio = risk * self.n_errors / self.n_excesses
        if ratio >= 1:
            raise ValueError(
                f"risk {risk:g} is not below the share of errors over the initial threshold "
                f"({self.n_excesses}/{self.n_errors}); lower the risk or raise the initial quantile"
            )
        if abs(self.gamma) < 1e-9:
            return self.initial_threshold - self.sigma * math.log(ratio)
        return self.initial_threshold + self.sigma / self.gamma * (ratio ** (-self.gamma) - 1)


def fit_pareto_tail(errors: np.ndarray, initial_quantile: float) -> ParetoTail:
    """Fit the tail of finite ``errors`` (n,) above their ``initial_quantile``.

    Maximum likelihood needs a handful of excesses to say anything about the shape, so below
    ``MIN_EXCESSES_FOR_SHAPE`` the tail is taken as exponential (gamma = 0); when the likelihood fit
    fails, the method of moments stands in. Too few errors for even ``MIN_EXCESSES`` is an error.
    """
    errors = np.asarray(errors, dtype=float)
    expected = errors.size * (1 - initial_quantile)
    if expected < MIN_EXCESSES:
        needed = math.ceil(MIN_EXCESSES / (1 - initial_quantile))
        raise ValueError(
            f"SPOT needs at least {needed} errors to have {MIN_EXCESSES} above its initial "
            f"{initial_quantile:g} quantile, got {errors.size}: give more windows or lower "
            "spot_initial_quantile"
        )
    initial = float(np.quantile(errors, initial_quantile))
    excesses = errors[errors > initial] - initial
    if excesses.size == 0:
        gamma, sigma = 0.0, 0.0
    elif excesses.size < MIN_EXCESSES_FOR_SHAPE:
        gamma, sigma = 0.0, float(excesses.mean())
    else:
        gamma, sigma = _maximum_likelihood(excesses) or _moments(excesses)
    return ParetoTail(initial, gamma, sigma, errors.size, excesses.size)


def spot_threshold(errors: np.ndarray, initial_quantile: float, risk: float) -> float:
    """The SPOT threshold of ``errors`` (n,) at ``risk``, from the tail above ``initial_quantile``."""
    return fit_pareto_tail(errors, initial_quantile).threshold(risk)


def _maximum_likelihood(excesses: np.ndarray) -> tuple[float, float] | None:
    """(gamma, sigma) by maximum likelihood with the location fixed at 0; None when the fit fails."""
    from scipy.stats import genpareto

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            gamma, _, sigma = genpareto.fit(excesses, floc=0)
    except (ValueError, RuntimeError, FloatingPointError):
        return None
    if not (math.isfinite(gamma) and math.isfinite(sigma) and sigma > 0):
        return None
    return float(gamma), float(sigma)


def _moments(excesses: np.ndarray) -> tuple[float, float]:
    """(gamma, sigma) from the mean and variance of the excesses; exponential when they do not vary."""
    mean, variance = float(excesses.mean()), float(excesses.var(ddof=1))
    if variance <= 0:
        return 0.0, mean
    ratio = mean**2 / variance
    return 0.5 * (1 - ratio), 0.5 * mean * (1 + ratio)
