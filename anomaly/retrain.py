"""When a stream needs a new model version, and which rows the new version must not learn from.

- ``retrain_reason`` says why the active model should be replaced (none yet, policy, age, new rows,
  a history grown ``growth`` times, drifted errors), or ``None`` to keep it; the reason is a sentence
  for the log. ``model_reason`` is the part decided before any data is read (none yet, policy, age),
  by which a run knows which streams need their whole history.
- ``drift_sample`` picks the errors of the windows a run decided were normal (``anomaly.decisions``),
  which the drift test compares with the errors the model had on held-out data when it was trained.
- ``rows_in_spans`` turns stored anomaly spans (confirmed by an analyst) into the row mask that
  ``Detector.fit(exclude_rows=...)`` keeps out of training.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np
import pandas as pd

from anomaly.config import RetrainConfig
from anomaly.data.types import PreparedStream
from anomaly.results import StreamAnalysis


class ActiveModel(Protocol):
    """What retraining decisions need to know of a stream's active model version (the pipeline passes
    what storage read): when it was trained (UTC), the first and last timestamps of its training data,
    and the quantiles of its normal held-out window errors (empty for models recorded before they were
    kept)."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def trained_from(self) -> datetime: ...

    @property
    def trained_to(self) -> datetime: ...

    @property
    def reference_errors(self) -> Sequence[float]: ...


def retrain_reason(
    active_model: ActiveModel | None,
    stream: PreparedStream,
    recent_window_errors: np.ndarray | None,
    config: RetrainConfig,
    now: datetime,
) -> str | None:
    """Why ``stream`` needs a new model version, or ``None`` if its active model should be kept.

    Checked in order: no active model, policy 'every_run', ``max_age`` (age from the model's
    ``created_at`` to ``now``, both timezone-aware), ``max_new_rows`` (rows of ``stream`` after the
    model's ``trained_to``), ``growth`` (the time from ``trained_from`` to the stream's last row
    against the training span: time, not rows, so that the end of the history a scheduled run reads
    is enough), and drift. Drift is tested only when ``config.drift`` is on,
    ``recent_window_errors`` is given (see ``drift_sample``) with at least ``drift_min_windows``
    values, and the model recorded reference errors.
    """
    reason = model_reason(active_model, config, now)
    if reason is not None or active_model is None:
        return reason
    if config.max_new_rows is not None:
        new_rows = len(stream.values) - int(
            np.searchsorted(stream.values.index, pd.Timestamp(active_model.trained_to), side="right")
        )
        if new_rows >= config.max_new_rows:
            return f"{new_rows:,} new rows since training (max_new_rows {config.max_new_rows:,})"
    if config.growth is not None:
        trained_from = pd.Timestamp(active_model.trained_from)
        trained_span = pd.Timestamp(active_model.trained_to) - trained_from
        span = stream.values.index[-1] - trained_from
        if trained_span > pd.Timedelta(0) and span >= config.growth * trained_span:
            return (
                f"history spans {span / trained_span:.1f}x what the model was trained on "
                f"(growth {config.growth:g})"
            )
    if config.drift and recent_window_errors is not None:
        return _drift_reason(np.asarray(active_model.reference_errors), recent_window_errors, config)
    return None


def model_reason(active_model: ActiveModel | None, config: RetrainConfig, now: datetime) -> str | None:
    """The reasons of ``retrain_reason`` that need no data: no active model, policy 'every_run', and
    ``max_age``."""
    if active_model is None:
        return "no active model"
    if config.policy == "every_run":
        return "every run"
    if config.max_age is not None:
        age = now - active_model.created_at
        if age >= config.max_age:
            return f"model is {_describe(age)} old (max_age {_describe(config.max_age)})"
    return None


def drift_sample(analysis: StreamAnalysis) -> np.ndarray:
    """Errors (n,) of the windows scored in this run that belong to no event, for the drift test.

    Windows of events are left out so that a real anomaly does not make the model look drifted and
    get trained into the next version. The other side of that choice: a change so large that nearly
    every window is flagged leaves too few windows to test, and is reported as anomalies for an
    analyst to judge instead (dismissing them keeps them in the next training data).
    """
    return analysis.window_scores.window_errors[~analysis.flagged_windows]


def rows_in_spans(index: pd.DatetimeIndex, spans: Iterable[tuple[datetime, datetime]]) -> np.ndarray:
    """Mask (n_rows,) of the rows of ``index`` (sorted) inside any (start, end) span, ends included."""
    mask = np.zeros(len(index), dtype=bool)
    for start, end in spans:
        first = np.searchsorted(index, pd.Timestamp(start), side="left")
        last = np.searchsorted(index, pd.Timestamp(end), side="right")
        mask[first:last] = True
    return mask


def _drift_reason(
    reference_errors: np.ndarray, recent_errors: np.ndarray, config: RetrainConfig
) -> str | None:
    """Two-sample Kolmogorov-Smirnov test of the recent errors against the model's reference errors.

    The test is distribution-free and reacts to a shift in level as well as in spread. Errors of
    overlapping windows are correlated, so its p-value is optimistic: keep ``drift_alpha`` small.
    """
    from scipy.stats import ks_2samp

    recent_errors = np.asarray(recent_errors, dtype=float)
    recent_errors = recent_errors[np.isfinite(recent_errors)]
    if len(reference_errors) == 0 or len(recent_errors) < config.drift_min_windows:
        return None
    p_value = float(ks_2samp(reference_errors, recent_errors).pvalue)
    if p_value >= config.drift_alpha:
        return None
    return (
        f"error distribution drifted: KS p={p_value:.2g} < {config.drift_alpha:g} "
        f"over {len(recent_errors):,} recent windows"
    )


def _describe(duration: timedelta) -> str:
    """A duration in its largest whole unit, to one decimal: '31 days', '12.5 hours', '1 minute'."""
    seconds = duration.total_seconds()
    unit, size = next(
        ((unit, size) for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)) if seconds >= size),
        ("second", 1),
    )
    amount = round(seconds / size, 1)
    return f"{amount:g} {unit}{'' if amount == 1 else 's'}"
