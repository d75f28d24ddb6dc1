"""Detectors by name, as the pipeline configuration's ``detector`` key and model artifacts name them.

Classes are imported on first use, so validating a configuration (or ``anomaly --help``) does not load
TensorFlow; a new detector is one module and one line here, and the runner and evaluation need no change.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from anomaly.errors import ConfigError

if TYPE_CHECKING:
    from anomaly.config import PipelineConfig
    from anomaly.detectors.base import Detector

DETECTORS: dict[str, str] = {
    "lstm_autoencoder": "anomaly.detectors.lstm_autoencoder:LSTMAutoencoderDetector",
    "rolling_zscore": "anomaly.detectors.rolling_zscore:RollingZScoreDetector",
    "seasonal_naive": "anomaly.detectors.seasonal_naive:SeasonalNaiveDetector",
    "noise_level": "anomaly.detectors.noise_level:NoiseLevelDetector",
    "ensemble": "anomaly.detectors.ensemble:EnsembleDetector",
}
DEFAULT_DETECTOR = "ensemble"
"""The detector a configuration without ``detector`` gets: chosen on all four development families
(docs/quality.md)."""


def detector_names() -> tuple[str, ...]:
    """The registered detector names."""
    return tuple(DETECTORS)


def detector_class(name: str) -> type[Detector]:
    """The class registered as ``name``; a ConfigError naming the choices for an unknown one."""
    try:
        module_name, class_name = DETECTORS[name].split(":")
    except KeyError:
        raise ConfigError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}") from None
    return getattr(importlib.import_module(module_name), class_name)


def detector_for(config: PipelineConfig) -> Detector:
    """An unfitted detector of the configured kind, set up from ``config``."""
    return detector_class(config.detector).from_config(config)
