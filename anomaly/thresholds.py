"""Learning the anomaly threshold from the errors of windows the model was fitted on.

Reconstruction errors of normal data are far from Gaussian: recurring but hard patterns (a daily
start-up, a nightly backup) give errors well above the typical one, again and again. A threshold
must sit above what normal data reaches, yet stay below anomalies that unlabelled fitting data
usually contains. ``block_maxima`` (the default) cuts the errors, in time order, into consecutive
blocks and takes a high quantile of the block maxima: recurring normal peaks reach most blocks,
while a few anomalies only raise the maxima of the blocks they fall in, so they barely move it.
"""

from __future__ import annotations

import numpy as np

from anomaly.config import ThresholdConfig

MAD_TO_SIGMA = 1.4826


def learn_threshold(window_errors: np.ndarray, config: ThresholdConfig) -> float:
    """The error above which a window is anomalous, from errors of windows assumed mostly normal.

    ``window_errors`` are in time order. ``block_maxima``: margin x the ``block_quantile`` of the maxima of
    ``blocks`` consecutive blocks. ``mad``: median + k * 1.4826 * MAD, i.e. k robust standard
    deviations above the typical error. ``quantile``: the given quantile of the errors.
    When the errors barely vary (a perfectly learnt or constant series) the threshold is kept
    strictly above the largest error, so that normal data is never flagged.
    """
    errors = np.asarray(window_errors, dtype=float)
    errors = errors[np.isfinite(errors)]
    if errors.size == 0:
        raise ValueError("no finite window errors to learn a threshold from")
    if config.method == "block_maxima":
        blocks = np.array_split(errors, min(config.blocks, errors.size))
        maxima = np.array([block.max() for block in blocks])
        threshold = config.margin * float(np.quantile(maxima, config.block_quantile))
    elif config.method == "mad":
        median = float(np.median(errors))
        mad = float(np.median(np.abs(errors - median)))
        threshold = median + config.k * MAD_TO_SIGMA * mad
    else:
        threshold = float(np.quantile(errors, config.quantile))
    floor = float(errors.max()) * 1.000001 + 1e-12 if _errors_barely_vary(errors) else 0.0
    return max(threshold, floor)


def _errors_barely_vary(errors: np.ndarray) -> bool:
    """Whether the errors are (nearly) all equal, which makes any spread-based threshold meaningless."""
    return float(np.median(np.abs(errors - np.median(errors)))) <= 1e-12 * max(
        1.0, float(np.abs(errors).max())
    )
