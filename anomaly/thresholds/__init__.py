"""Thresholds: from the window errors of a fitted model to the error above which a window is anomalous.

- ``base``: ``Threshold``, the contract (``fit`` validates the errors then calls the method's
  ``_fit_core``; ``keep_events`` may veto flagged events; ``to_dict`` saves it), and the config fields
  every method shares.
- One module per method, each with its config model and its ``Threshold``: ``block_maxima`` (the
  default), ``mad``, ``quantile``, ``spot`` (extreme value theory), ``dynamic`` (telemanom, the only
  one that prunes events), ``label_tuned`` (best F1 on labelled windows, else an unsupervised method).
- ``registry``: methods by name: ``threshold_for`` a config, ``threshold_from_dict`` a saved one,
  ``threshold_config_type`` of a name.
- ``choices``: ``ThresholdConfig``, the union of every method's config that the pipeline config's
  ``[threshold]`` section is, and ``threshold_config`` to validate one from a dict.
- ``refit``: any method learnt again without the windows it flagged (``refits``), so that anomalies
  in the training data do not lift the threshold above themselves.
"""

from anomaly.thresholds.base import BaseThresholdConfig, Threshold
from anomaly.thresholds.block_maxima import BlockMaximaConfig, BlockMaximaThreshold
from anomaly.thresholds.choices import ThresholdConfig, threshold_config
from anomaly.thresholds.dynamic import DynamicConfig, DynamicThreshold, dynamic_threshold, prune_sequences
from anomaly.thresholds.label_tuned import (
    UNSUPERVISED_THRESHOLDS,
    LabelTunedConfig,
    LabelTunedThreshold,
    UnsupervisedThresholdConfig,
    event_f1,
    label_tuned_threshold,
    labelled_windows,
)
from anomaly.thresholds.mad import MadConfig, MadThreshold
from anomaly.thresholds.quantile import QuantileConfig, QuantileThreshold
from anomaly.thresholds.refit import fit_setting_aside_flagged
from anomaly.thresholds.registry import (
    DEFAULT_METHOD,
    register_threshold,
    threshold_config_type,
    threshold_for,
    threshold_from_dict,
    threshold_methods,
)
from anomaly.thresholds.spot import ParetoTail, SpotConfig, SpotThreshold, fit_pareto_tail, spot_threshold

__all__ = [
    "DEFAULT_METHOD",
    "UNSUPERVISED_THRESHOLDS",
    "BaseThresholdConfig",
    "BlockMaximaConfig",
    "BlockMaximaThreshold",
    "DynamicConfig",
    "DynamicThreshold",
    "LabelTunedConfig",
    "LabelTunedThreshold",
    "MadConfig",
    "MadThreshold",
    "ParetoTail",
    "QuantileConfig",
    "QuantileThreshold",
    "SpotConfig",
    "SpotThreshold",
    "Threshold",
    "ThresholdConfig",
    "UnsupervisedThresholdConfig",
    "dynamic_threshold",
    "event_f1",
    "fit_pareto_tail",
    "fit_setting_aside_flagged",
    "label_tuned_threshold",
    "labelled_windows",
    "prune_sequences",
    "register_threshold",
    "spot_threshold",
    "threshold_config",
    "threshold_config_type",
    "threshold_for",
    "threshold_from_dict",
    "threshold_methods",
]
