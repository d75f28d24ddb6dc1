"""The two evaluation protocols: per input row, a ranking score in [0, 1] and the detector's decision.

- ``offline``: fit on the whole series (no labels), then score every row.
- ``streaming`` (NAB's rules): fit on the first 15% of rows, then score the rest chunk by chunk as
  scheduled runs would, retraining before each chunk on the rows seen so far; a new chunk starts when
  the rows seen have doubled since the last fit (15%, 30%, 60% of the series), so retraining costs about
  one fit on the whole series, however long it is. Each chunk is prepared
  from the rows up to its end only and rows are scored by the window ending at them, so a row's score
  depends on no later row (apart from rows sharing its grid step when irregular data is resampled).

Results are aligned to the rows of the ``RawStream`` (input order); rows preparation could not place
(dropped gaps, short segments, the streaming probation) get score 0 and no alarm.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from anomaly.config import PipelineConfig, PreparationConfig
from anomaly.data import PreparedStream, RawStream, prepare_stream
from anomaly.evaluation.nab import PROBATION_FRACTION, rising_edges
from anomaly.evaluation.scorers import RowScorer

EvaluationProtocol = Literal["offline", "streaming"]
RETRAIN_GROWTH = 2.0
ScorerFactory = Callable[[PipelineConfig], RowScorer]


@dataclass(frozen=True)
class RowResults:
    """Per input row (n_rows,): ``anomaly_score`` in [0, 1], monotone in the error and 0.5 at the
    threshold (``error / (error + threshold)``), and ``is_anomaly``, the detector's own decision: an
    alarm on the row where the error rises above the threshold after a window's length of rows below
    it (see ``alarm_onsets``)."""

    anomaly_score: np.ndarray
    is_anomaly: np.ndarray


def alarm_onsets(above: np.ndarray, timestamps: pd.Series, quiet_rows: int = 1) -> np.ndarray:
    """Alarms (n_rows,) bool: the rows, in time order, where ``above`` turns True after at least
    ``quiet_rows`` rows that were not.

    A detector raises one alarm when its error crosses the threshold, as a pager would, not one per row
    while the error stays high: NAB charges every alarmed row outside a labelled window as a false
    positive, and an operator reads a run of flagged rows as one event. With ``quiet_rows`` the window
    length, errors that dip under the threshold and come back within a window raise no new alarm, as
    the pipeline merges overlapping flagged windows into one event. The rule is causal: a row's alarm
    depends on its own decision and the ones before it. ``above`` and ``timestamps`` are in input order.
    """
    order = np.argsort(_nanoseconds(timestamps), kind="stable")
    onsets = np.zeros(len(order), dtype=bool)
    onsets[order] = rising_edges(np.asarray(above, dtype=bool)[order], quiet_rows)
    return onsets


def score_rows(
    raw: RawStream,
    protocol: EvaluationProtocol,
    config: PipelineConfig,
    scorer: ScorerFactory,
    *,
    retrain_growth: float = RETRAIN_GROWTH,
) -> RowResults:
    """Run ``protocol`` on one stream; in streaming, retrain once the rows seen have grown by
    ``retrain_growth`` times since the last fit."""
    if protocol == "offline":
        results = _offline(raw, config, scorer)
    else:
        results = _streaming(raw, config, scorer, retrain_growth)
    alarms = alarm_onsets(results.is_anomaly, raw.frame["timestamp"], config.window.length)
    return RowResults(results.anomaly_score, alarms)


def _offline(raw: RawStream, config: PipelineConfig, scorer: ScorerFactory) -> RowResults:
    prepared = prepare_stream(raw, config.preparation, window_length=config.window.length)
    fitted = scorer(config).fit(prepared)
    errors = fitted.row_errors(prepared, first_row=0, causal=False)
    results = _empty(len(raw.frame))
    _fill(results, _input_rows(raw, prepared), errors, fitted.threshold_, np.ones(len(raw.frame), bool))
    return results


def _streaming(
    raw: RawStream, config: PipelineConfig, scorer: ScorerFactory, retrain_growth: float
) -> RowResults:
    timestamps = _nanoseconds(raw.frame["timestamp"])
    ordered = np.sort(timestamps)
    n_rows = len(ordered)
    probation = max(int(np.floor(PROBATION_FRACTION * n_rows)), 1)
    ends = [probation]
    while ends[-1] < n_rows:
        ends.append(min(max(int(np.ceil(ends[-1] * retrain_growth)), ends[-1] + 1), n_rows))
    preparation = _fixed_frequency(raw, ordered[probation - 1], config)
    results = _empty(n_rows)
    for seen, until in itertools.pairwise(ends):
        seen_until, chunk_end = ordered[seen - 1], ordered[until - 1]
        chunk = (timestamps > seen_until) & (timestamps <= chunk_end)
        if not chunk.any():
            continue
        prepared = prepare_stream(
            _rows_until(raw, chunk_end), preparation, window_length=config.window.length
        )
        first_row = int(np.searchsorted(prepared.values.index.asi8, seen_until, side="right"))
        fitted = scorer(config).fit(_head(prepared, first_row))
        errors = fitted.row_errors(prepared, first_row=first_row, causal=True)
        _fill(results, _input_rows(raw, prepared), errors, fitted.threshold_, chunk)
    return results


def _fixed_frequency(raw: RawStream, probation_end: int, config: PipelineConfig) -> PreparationConfig:
    """The preparation config with the grid step the probationary rows give, so that every chunk is
    prepared on the same grid whatever rows come later."""
    probation = prepare_stream(
        _rows_until(raw, probation_end), config.preparation, window_length=config.window.length
    )
    return config.preparation.model_copy(update={"frequency": str(probation.frequency)})


def _rows_until(raw: RawStream, last: int) -> RawStream:
    """The rows of ``raw`` at or before ``last`` (ns since the epoch): what a run then would have seen."""
    keep = _nanoseconds(raw.frame["timestamp"]) <= last
    return replace(raw, frame=raw.frame[keep].reset_index(drop=True), rows=raw.rows[keep])


def _head(stream: PreparedStream, n_rows: int) -> PreparedStream:
    return replace(stream, values=stream.values.iloc[:n_rows], segment=stream.segment[:n_rows])


def _input_rows(raw: RawStream, prepared: PreparedStream) -> np.ndarray:
    """For each input row, the prepared row holding it (-1 where none): the grid step at or before its
    timestamp, as preparation bins rows, if that step survived preparation."""
    grid = prepared.values.index.asi8
    stamps = _nanoseconds(raw.frame["timestamp"])
    position = np.searchsorted(grid, stamps, side="right") - 1
    placed = (position >= 0) & (stamps - grid[np.maximum(position, 0)] < prepared.frequency.value)
    return np.where(placed, position, -1)


def _nanoseconds(timestamps: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(timestamps).as_unit("ns").asi8


def _empty(n_rows: int) -> RowResults:
    return RowResults(np.zeros(n_rows), np.zeros(n_rows, dtype=bool))


def _fill(
    results: RowResults, rows: np.ndarray, errors: np.ndarray, threshold: float, which: np.ndarray
) -> None:
    """Write the scores of the input rows selected by ``which`` from per-prepared-row ``errors``, and in
    ``is_anomaly`` whether each is above the threshold (``score_rows`` turns that into alarm onsets)."""
    error = np.where(rows >= 0, errors[np.maximum(rows, 0)], np.nan)
    scored = which & np.isfinite(error)
    with np.errstate(divide="ignore", invalid="ignore"):
        ranking = np.where(error > 0, error / (error + threshold), 0.0)
    results.anomaly_score[scored] = ranking[scored]
    results.is_anomaly[scored] = error[scored] > threshold
