"""The default threshold: a high quantile of the maxima of consecutive blocks of errors, with a margin.

Reconstruction errors of normal data are far from Gaussian: recurring but hard patterns (a daily
start-up, a nightly backup) give errors well above the typical one, again and again. Cutting the
errors, in time order, into consecutive blocks and taking a high quantile of the block maxima puts
the threshold above those peaks, since recurring normal peaks reach most blocks, while a few
anomalies in the fitting data only raise the maxima of the blocks they fall in, so they barely move it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from anomaly.thresholds.base import BaseThresholdConfig, Threshold
from anomaly.thresholds.registry import register_threshold


class BlockMaximaConfig(BaseThresholdConfig):
    """``block_maxima``: margin x the ``block_quantile`` of the maxima of ``blocks`` consecutive blocks."""

    method: Literal["block_maxima"] = "block_maxima"
    blocks: int = Field(10, ge=2, description="consecutive blocks the errors are cut into")
    block_quantile: float = Field(0.75, gt=0, le=1, description="quantile of the block maxima")
    margin: float = Field(1.35, gt=0, description="factor above that quantile")


@register_threshold
class BlockMaximaThreshold(Threshold[BlockMaximaConfig]):
    """Margin x the ``block_quantile`` of the maxima of ``blocks`` consecutive blocks of the errors
    (fewer blocks when there are fewer errors than blocks)."""

    config_type = BlockMaximaConfig

    def _fit_core(self, errors: np.ndarray, labelled: np.ndarray | None) -> float:
        blocks = np.array_split(errors, min(self.config.blocks, errors.size))
        maxima = np.array([block.max() for block in blocks])
        return self.config.margin * float(np.quantile(maxima, self.config.block_quantile))
