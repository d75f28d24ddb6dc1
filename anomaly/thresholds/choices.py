"""The threshold section of a pipeline config: any method's config model, told apart by ``method``.

One discriminated union, so that a config names its method once and carries only that method's
parameters (another method's parameter is rejected), and an unknown ``method`` is a validation error
that names the valid ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from anomaly.thresholds.base import BaseThresholdConfig
from anomaly.thresholds.label_tuned import UNSUPERVISED_THRESHOLDS, LabelTunedThreshold
from anomaly.thresholds.registry import config_union

ThresholdConfig = config_union((*UNSUPERVISED_THRESHOLDS, LabelTunedThreshold))

_THRESHOLD_CONFIG = TypeAdapter(ThresholdConfig)


def threshold_config(data: Mapping[str, Any] | None = None, **fields: Any) -> BaseThresholdConfig:
    """The validated config model of ``data`` updated with ``fields``; without ``method``, the default
    method's. Raises ``pydantic.ValidationError``, like constructing the model directly."""
    return _THRESHOLD_CONFIG.validate_python({**(data or {}), **fields})
