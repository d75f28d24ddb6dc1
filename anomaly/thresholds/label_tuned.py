"""A threshold tuned on labelled anomalies in the fitted rows, for streams where someone marked some.

Scored at the event level without point adjustment (as ``anomaly.evaluation.metrics`` scores
detectors): a labelled interval is found when a flagged window overlaps it, and each run of adjacent
flagged windows that overlaps no labelled window is one false positive. So the tuned threshold is the
one that finds the labelled events while raising the fewest false alarms, not the one that flags the
most anomalous points. The labels reach ``fit`` as a mask of windows (``labelled_windows``): reading
the labels file is the caller's job, so that fitting reads nothing from disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, field_validator

from anomaly.thresholds.base import BaseThresholdConfig, Threshold
from anomaly.thresholds.block_maxima import BlockMaximaConfig, BlockMaximaThreshold
from anomaly.thresholds.dynamic import DynamicThreshold
from anomaly.thresholds.mad import MadThreshold
from anomaly.thresholds.quantile import QuantileThreshold
from anomaly.thresholds.registry import config_union, register_threshold, threshold_for
from anomaly.thresholds.spot import SpotThreshold

if TYPE_CHECKING:  # pandas only types the labels; the pipeline config imports this module
    import pandas as pd

# Every method that needs no labels: what label tuning can fall back to.
UNSUPERVISED_THRESHOLDS = (
    BlockMaximaThreshold,
    DynamicThreshold,
    MadThreshold,
    QuantileThreshold,
    SpotThreshold,
)
UnsupervisedThresholdConfig = config_union(UNSUPERVISED_THRESHOLDS)


class LabelTunedConfig(BaseThresholdConfig):
    """``label_tuned``: the threshold with the best event-level F1 on the labelled intervals inside
    the fitted rows, or the ``label_fallback`` method's when none is there."""

    method: Literal["label_tuned"] = "label_tuned"
    labels: Path = Field(
        description="labels JSON (stream name -> [[start, end], ...]); the intervals inside the fitted "
        "rows calibrate the threshold",
    )
    label_fallback: UnsupervisedThresholdConfig = Field(
        default_factory=BlockMaximaConfig,
        description="the config of the method used when the fitted rows hold no labelled interval; a "
        "method name alone means that method's defaults",
    )
    label_candidates: int = Field(
        200, ge=2, description="candidate thresholds, quantiles of the errors from the median up"
    )

    @field_validator("label_fallback", mode="before")
    @classmethod
    def _method_name(cls, value: object) -> object:
        return {"method": value} if isinstance(value, str) else value


@register_threshold
class LabelTunedThreshold(Threshold[LabelTunedConfig]):
    """``label_tuned_threshold`` on the windows ``labelled`` passed to ``fit``; without any labelled
    window (or no candidate finding one) the ``label_fallback`` method decides."""

    config_type = LabelTunedConfig

    def _fit_core(self, errors: np.ndarray, labelled: np.ndarray | None) -> float:
        threshold = None
        if labelled is not None:
            threshold = label_tuned_threshold(errors, labelled, self.config.label_candidates)
        if threshold is None:
            threshold = threshold_for(self.config.label_fallback).fit(errors).threshold_
        return threshold


def label_tuned_threshold(errors: np.ndarray, labelled: np.ndarray, n_candidates: int) -> float | None:
    """The candidate threshold with the best event-level F1; None when the labels give no guidance.

    ``errors`` (n,) are window errors in time order, ``labelled`` (n,) bool marks the windows that
    overlap a labelled interval. Candidates are ``n_candidates`` quantiles of the errors from the
    median up, denser towards the maximum where anomalies live. Equal F1 over a range of candidates
    is resolved by the middle of the lowest such range, to keep a margin on both sides. None when no
    window is labelled or no candidate finds a labelled interval.
    """
    if not labelled.any():
        return None
    levels = 1 - np.geomspace(0.5, 0.5 / errors.size, n_candidates)
    candidates = np.unique(np.quantile(errors, levels))
    f1 = np.array([event_f1(errors > candidate, labelled) for candidate in candidates])
    if f1.max() <= 0:
        return None
    best = np.flatnonzero(f1 == f1.max())
    breaks = np.flatnonzero(np.diff(best) > 1)
    lowest_range = best[: breaks[0] + 1] if breaks.size else best
    return float(candidates[lowest_range[len(lowest_range) // 2]])


def event_f1(flagged: np.ndarray, labelled: np.ndarray) -> float:
    """Event-level F1 of ``flagged`` windows against ``labelled`` ones (both (n,) bool, time order).

    Precision is the share of flagged runs that overlap a labelled run (1 without any flagged run),
    recall the share of labelled runs overlapped by a flagged one (1 without any labelled run), the
    same definitions as ``anomaly.evaluation.metrics.EventScores``, computed on masks.
    """
    flagged_starts, flagged_ends = _runs(flagged)
    labelled_starts, labelled_ends = _runs(labelled)
    labelled_before = np.concatenate(([0], np.cumsum(labelled)))
    flagged_before = np.concatenate(([0], np.cumsum(flagged)))
    true_events = int(np.count_nonzero(labelled_before[flagged_ends + 1] > labelled_before[flagged_starts]))
    found = int(np.count_nonzero(flagged_before[labelled_ends + 1] > flagged_before[labelled_starts]))
    precision = true_events / flagged_starts.size if flagged_starts.size else 1.0
    recall = found / labelled_starts.size if labelled_starts.size else 1.0
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


def labelled_windows(
    intervals: Sequence[tuple[pd.Timestamp, pd.Timestamp]],
    timestamps: pd.DatetimeIndex,
    starts: np.ndarray,
    length: int,
) -> np.ndarray:
    """(n_windows,) bool: which windows of ``length`` rows at ``starts`` overlap one of the labelled
    ``intervals`` (inclusive (start, end) timestamps, as ``anomaly.data.labels.load_labels`` gives a
    stream's); ``timestamps`` are the stream's rows. Only intervals reaching into these windows
    count, so labels of later data never leak into the calibration."""
    first, last = timestamps[starts], timestamps[starts + length - 1]
    labelled = np.zeros(len(starts), dtype=bool)
    for interval_start, interval_end in intervals:
        labelled |= np.asarray((first <= interval_end) & (last >= interval_start))
    return labelled


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last positions of each run of True in ``mask``."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
