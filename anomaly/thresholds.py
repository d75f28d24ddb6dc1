"""Learning the anomaly threshold from the errors of windows the model was fitted on.

Reconstruction errors of normal data are far from Gaussian: recurring but hard patterns (a daily
start-up, a nightly backup) give errors well above the typical one, again and again. A threshold
must sit above what normal data reaches, yet stay below anomalies that unlabelled fitting data
usually contains. ``block_maxima`` (the default) cuts the errors, in time order, into consecutive
blocks and takes a high quantile of the block maxima: recurring normal peaks reach most blocks,
while a few anomalies only raise the maxima of the blocks they fall in, so they barely move it.
``spot``, ``dynamic`` and ``label_tuned`` live in ``anomaly.threshold_methods``; this module picks one.
"""

from __future__ import annotations

import numpy as np

from anomaly.config import ThresholdConfig, UnsupervisedThresholdMethod
from anomaly.threshold_methods.dynamic import dynamic_threshold
from anomaly.threshold_methods.label_tuned import label_tuned_threshold
from anomaly.threshold_methods.spot import spot_threshold

MAD_TO_SIGMA = 1.4826


def learn_threshold(
    window_errors: np.ndarray, config: ThresholdConfig, *, labelled: np.ndarray | None = None
) -> float:
    """The error above which a window is anomalous, from errors of windows assumed mostly normal.

    ``window_errors`` are in time order. ``block_maxima``: margin x the ``block_quantile`` of the maxima of
    ``blocks`` consecutive blocks. ``mad``: median + k * 1.4826 * MAD, i.e. k robust standard
    deviations above the typical error. ``quantile``: the given quantile of the errors. ``spot``,
    ``dynamic``: see ``anomaly.threshold_methods``. ``label_tuned``: the best event-level F1 against
    ``labelled`` (n,) bool, True where a window overlaps a labelled interval; without labelled
    windows (or ``labelled`` None) the ``label_fallback`` method decides.
    When the errors barely vary (a perfectly learnt or constant series) the threshold is kept
    strictly above the largest error, so that normal data is never flagged.
    """
    errors = np.asarray(window_errors, dtype=float)
    finite = np.isfinite(errors)
    errors = errors[finite]
    if errors.size == 0:
        raise ValueError("no finite window errors to learn a threshold from")
    threshold = None
    if config.method == "label_tuned":
        if labelled is not None:
            labelled = np.asarray(labelled, dtype=bool)
            if labelled.shape != finite.shape:
                raise ValueError(f"labelled must have one entry per window error, {finite.size}")
            threshold = label_tuned_threshold(errors, labelled[finite], config.label_candidates)
        if threshold is None:
            threshold = _unsupervised_threshold(errors, config, config.label_fallback)
    else:
        threshold = _unsupervised_threshold(errors, config, config.method)
    floor = float(errors.max()) * 1.000001 + 1e-12 if _errors_barely_vary(errors) else 0.0
    return max(threshold, floor)


def _unsupervised_threshold(
    errors: np.ndarray, config: ThresholdConfig, method: UnsupervisedThresholdMethod
) -> float:
    if method == "block_maxima":
        blocks = np.array_split(errors, min(config.blocks, errors.size))
        maxima = np.array([block.max() for block in blocks])
        return config.margin * float(np.quantile(maxima, config.block_quantile))
    if method == "mad":
        median = float(np.median(errors))
        mad = float(np.median(np.abs(errors - median)))
        return median + config.k * MAD_TO_SIGMA * mad
    if method == "spot":
        return spot_threshold(errors, config.spot_initial_quantile, config.spot_risk)
    if method == "dynamic":
        return dynamic_threshold(errors, config.dynamic_z_range, config.dynamic_buffer)
    return float(np.quantile(errors, config.quantile))


def _errors_barely_vary(errors: np.ndarray) -> bool:
    """Whether the errors are (nearly) all equal, which makes any spread-based threshold meaningless."""
    return float(np.median(np.abs(errors - np.median(errors)))) <= 1e-12 * max(
        1.0, float(np.abs(errors).max())
    )
