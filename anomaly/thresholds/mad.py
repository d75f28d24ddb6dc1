"""A robust z-score threshold: the median error plus k robust standard deviations (from the MAD).

The median and the median absolute deviation ignore the few large errors that anomalies in the
fitting data bring, where a mean and standard deviation would be dragged up by them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from anomaly.thresholds.base import BaseThresholdConfig, Threshold
from anomaly.thresholds.registry import register_threshold

MAD_TO_SIGMA = 1.4826


class MadConfig(BaseThresholdConfig):
    """``mad``: median + k * 1.4826 * MAD of the errors."""

    method: Literal["mad"] = "mad"
    k: float = Field(6.0, gt=0, description="threshold = median + k * 1.4826 * MAD")


@register_threshold
class MadThreshold(Threshold[MadConfig]):
    """median + k * 1.4826 * MAD, i.e. k robust standard deviations above the typical error
    (1.4826 * MAD is the standard deviation of Gaussian data)."""

    config_type = MadConfig

    def _fit_core(self, errors: np.ndarray, labelled: np.ndarray | None) -> float:
        median = float(np.median(errors))
        mad = float(np.median(np.abs(errors - median)))
        return median + self.config.k * MAD_TO_SIGMA * mad
