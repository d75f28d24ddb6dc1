"""Learning the anomaly threshold from validation window errors.

Validation windows come after the training windows in time and were not used for gradient steps,
so their errors are an honest sample of what normal data costs the model. Both methods are robust
to the few anomalies that unlabelled validation data usually contains.
"""

from __future__ import annotations

import numpy as np

from anomaly.config import ThresholdConfig

MAD_TO_SIGMA = 1.4826


def learn_threshold(validation_errors: np.ndarray, config: ThresholdConfig) -> float:
    """The error above which a window is anomalous, from errors of windows assumed mostly normal.

    ``mad``: median + k * 1.4826 * MAD, i.e. k robust standard deviations above the typical error.
    ``quantile``: the given quantile of the errors. When the errors barely vary (a perfectly learnt
    or constant series) the threshold is kept strictly above the largest validation error, so that
    normal data is never flagged.
    """
    errors = np.asarray(validation_errors, dtype=float)
    errors = errors[np.isfinite(errors)]
    if errors.size == 0:
        raise ValueError("no finite validation errors to learn a threshold from")
    if config.method == "mad":
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
