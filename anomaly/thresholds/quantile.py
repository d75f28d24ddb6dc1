"""The plainest threshold: a fixed quantile of the errors.

Simple and predictable, but by construction it flags that share of the fitting windows even when
they are all normal, so it suits streams whose share of anomalous windows is roughly known.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from anomaly.thresholds.base import BaseThresholdConfig, Threshold
from anomaly.thresholds.registry import register_threshold


class QuantileConfig(BaseThresholdConfig):
    """``quantile``: that quantile of the errors."""

    method: Literal["quantile"] = "quantile"
    quantile: float = Field(0.995, gt=0, lt=1, description="threshold = this quantile of the errors")


@register_threshold
class QuantileThreshold(Threshold[QuantileConfig]):
    """The ``quantile`` of the errors."""

    config_type = QuantileConfig

    def _fit_core(self, errors: np.ndarray, labelled: np.ndarray | None) -> float:
        return float(np.quantile(errors, self.config.quantile))
