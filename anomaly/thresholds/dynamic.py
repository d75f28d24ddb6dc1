"""telemanom's nonparametric dynamic threshold and its pruning (Hundman et al., KDD 2018).

The threshold is mean + z * std of the errors, with the z whose removal of the errors above it best
calms the rest (largest relative drop of mean and std) while flagging few points in few sequences:
anomalies are rare and come in runs, noise is neither. Pruning then reclassifies as normal the
flagged sequences whose peak is not clearly above the next one: a threshold learnt without labels
inevitably catches some normal peaks just above it, and those sit close to each other in size.

Stride-1 window errors are already a moving average of the per-step errors over a window, which is
what telemanom's EWMA smoothing provides, so the errors are used as they come.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from anomaly.thresholds.base import BaseThresholdConfig, Threshold
from anomaly.thresholds.registry import register_threshold

MAX_SEQUENCES = 5
MAX_ANOMALOUS_SHARE = 0.5


class DynamicConfig(BaseThresholdConfig):
    """``dynamic``: telemanom's mean + z * std with the z that best separates few anomalous sequences,
    the flagged events then pruned."""

    method: Literal["dynamic"] = "dynamic"
    dynamic_z_range: tuple[float, float, float] = Field(
        (2.0, 10.0, 0.5),
        description="(start, stop, step) of z; candidates are mean + z * std of the errors, stop "
        "included; when none qualifies the largest is taken",
    )
    dynamic_buffer: int = Field(
        10,
        ge=0,
        description="windows on each side of an error above a candidate that join its anomalous "
        "sequence (telemanom's error_buffer)",
    )
    dynamic_min_decrease: float = Field(
        0.13,
        gt=0,
        lt=1,
        description="pruning: an event stays anomalous only if its peak error, or a larger event's, is "
        "at least this fraction above the next smaller peak or the largest normal error",
    )

    @field_validator("dynamic_z_range")
    @classmethod
    def _z_range(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        start, stop, step = value
        if not (0 < start <= stop and step > 0):
            raise ValueError("must be [start, stop, step] with 0 < start <= stop and step > 0")
        return value


@register_threshold
class DynamicThreshold(Threshold[DynamicConfig]):
    """telemanom's epsilon (``dynamic_threshold``), and its pruning of the events it flags
    (``prune_sequences`` with ``dynamic_min_decrease``)."""

    config_type = DynamicConfig

    def _fit_core(self, errors: np.ndarray, labelled: np.ndarray | None) -> float:
        return dynamic_threshold(errors, self.config.dynamic_z_range, self.config.dynamic_buffer)

    def _keep(self, peak_errors: np.ndarray, max_normal_error: float) -> np.ndarray:
        return prune_sequences(peak_errors, max_normal_error, self.config.dynamic_min_decrease)


def dynamic_threshold(errors: np.ndarray, z_range: tuple[float, float, float], buffer: int) -> float:
    """telemanom's epsilon for finite ``errors`` (n,) in time order.

    Candidates are mean + z * std for z from ``z_range`` = (start, stop, step), stop included. Each
    error above a candidate makes it and ``buffer`` windows on each side anomalous; a candidate
    qualifies when that leaves at most ``MAX_SEQUENCES`` runs and under ``MAX_ANOMALOUS_SHARE`` of the
    windows (telemanom's guardrails), and scores (drop of mean / mean + drop of std / std) /
    (anomalous windows + runs^2), the drops being those of the errors left after removing the ones
    above the candidate. The best score wins, ties going to the larger candidate as in telemanom;
    without any qualifying candidate the largest is taken.
    """
    errors = np.asarray(errors, dtype=float)
    mean, std = float(errors.mean()), float(errors.std())
    start, stop, step = z_range
    candidates = mean + std * np.arange(start, stop + step / 2, step)
    if mean <= 0 or std <= 0:
        return float(candidates[-1])
    best, best_score = float(candidates[-1]), -np.inf
    for candidate in candidates:
        above = errors > candidate
        if not above.any():
            continue
        anomalous = np.convolve(above, np.ones(2 * buffer + 1), mode="same") > 0
        n_anomalous = int(anomalous.sum())
        n_sequences = int(np.count_nonzero(np.diff(anomalous.astype(np.int8), prepend=0) == 1))
        if n_sequences > MAX_SEQUENCES or n_anomalous >= MAX_ANOMALOUS_SHARE * errors.size:
            continue
        rest = errors[~above]
        score = ((mean - rest.mean()) / mean + (std - rest.std()) / std) / (n_anomalous + n_sequences**2)
        if score >= best_score:
            best, best_score = float(candidate), score
    return best


def prune_sequences(sequence_maxima: np.ndarray, max_normal_error: float, min_decrease: float) -> np.ndarray:
    """Which flagged sequences stay anomalous: a bool mask in the order of ``sequence_maxima``.

    The peaks are sorted descending and ``max_normal_error`` (the largest error known to be normal)
    is appended; walking down, each step whose relative decrease (a - b) / a is below
    ``min_decrease`` is suspect, and a step at or above it clears the suspicion of every larger peak.
    So a sequence is kept when some step at or below its peak is a clear decrease: everything after
    the last clear decrease is pruned (telemanom's ``prune_anoms``).
    """
    maxima = np.asarray(sequence_maxima, dtype=float)
    order = np.argsort(-maxima, kind="stable")
    ladder = np.append(maxima[order], max_normal_error)
    with np.errstate(divide="ignore", invalid="ignore"):
        decreases = (ladder[:-1] - ladder[1:]) / ladder[:-1]
    clear = np.flatnonzero(decreases >= min_decrease)
    keep = np.zeros(maxima.size, dtype=bool)
    if clear.size:
        keep[order[: clear[-1] + 1]] = True
    return keep
