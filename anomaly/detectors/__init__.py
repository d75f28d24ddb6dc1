"""Detectors: per-stream objects with one contract, chosen by the configuration's ``detector`` key.

- ``base``: ``Detector``, the contract (``fit``, ``score_samples``, ``decision_function``,
  ``predict``, ``transform``, ``threshold_``) and the steps every detector shares.
- ``lstm_autoencoder``: the article's model, composed of a training set, a trainer, a window scorer
  and a threshold method.
- ``statistical``: the steps the detectors without weights share (scaling, window shapes, seed).
- ``rolling_zscore``: the statistical baseline, through the same windows, thresholds and storage.
- ``seasonal_naive``: each window against the same phase of the stream's earlier daily or weekly cycles.
- ``noise_level``: each window's row-to-row movement above the stream's usual (bursts, faster cycles).
- ``ensemble``: several detectors, each with its own threshold; a window is flagged when one is past it.
- ``registry``: detectors by name; ``detector_for(config)``.
- ``artifacts``: saving and loading any fitted detector (JSON record plus its own files).
"""

from anomaly.lazy_exports import lazy_exports

# Names resolve on first use: the registry is read when a configuration is validated, and that must
# not load TensorFlow.
_EXPORTS = {
    "Detector": "base",
    "LSTMAutoencoderDetector": "lstm_autoencoder",
    "RollingZScoreDetector": "rolling_zscore",
    "SeasonalNaiveDetector": "seasonal_naive",
    "NoiseLevelDetector": "noise_level",
    "EnsembleDetector": "ensemble",
    "DETECTORS": "registry",
    "DEFAULT_DETECTOR": "registry",
    "detector_class": "registry",
    "detector_for": "registry",
    "detector_names": "registry",
    "ARTIFACT_FORMAT": "artifacts",
    "RECORD_FILE": "artifacts",
    "load_detector": "artifacts",
    "save_detector": "artifacts",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
