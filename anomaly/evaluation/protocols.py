"""The two evaluation protocols: per input row, a ranking score in [0, 1] and the detector's own alarms.

- ``offline``: fit on the whole series (no labels, but those a label-tuned threshold names), then
  score every row.
- ``streaming`` (NAB's rules): fit on NAB's probationary rows, the first ``min(floor(0.15 n), 750)``,
  then score the rest chunk by chunk as scheduled runs would, retraining before each chunk on the rows
  seen so far, as ``[retrain] growth`` makes ``anomaly run`` do: a new chunk starts when the rows seen
  have grown that many times since the last fit (by default doubled: 750, 1,500, 3,000 ... rows), so
  retraining costs about two fits on the whole series, however long it is. Each chunk's model judges
  its rows afresh, as a pipeline's new model version does (``anomaly.results.OpenEvent``). Each chunk
  is prepared from the rows up to its end only and rows are scored by the window ending at them, so a
  row's score depends on no later row (apart from rows sharing its grid step when irregular data is
  resampled).

Alarms are decided by the pipeline's own path (``anomaly.decisions.decide``: merged events, the
threshold method's pruning), one alarm per event: offline at the event's first row, as the pipeline
stores it; streaming at the end of its first flagged window, when a detector seeing rows as they come
can know of it. Results are aligned to the rows of the ``RawStream`` (input order); rows preparation
could not place (dropped gaps, short segments, the streaming probation) get score 0 and no alarm.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from anomaly.config import PipelineConfig, PreparationConfig
from anomaly.data import PreparedStream, RawStream, prepare_stream
from anomaly.data.labels import labels_for_threshold
from anomaly.decisions import Decisions, decide
from anomaly.detectors import Detector, detector_for
from anomaly.evaluation.nab import probationary_length

EvaluationProtocol = Literal["offline", "streaming"]


@dataclass(frozen=True)
class RowResults:
    """Per input row (n_rows,): ``anomaly_score`` in [0, 1], ``error / (error + threshold)`` (0.5 at
    the threshold) of the error as decided (above the threshold exactly from each alarm to its event's
    end: ``_scores_follow_decisions``), and ``is_anomaly``, the detector's own alarms: one per decided
    event (see the module)."""

    anomaly_score: np.ndarray
    is_anomaly: np.ndarray


def score_rows(raw: RawStream, protocol: EvaluationProtocol, config: PipelineConfig) -> RowResults:
    """Run ``protocol`` on one stream with ``config``'s detector; in streaming, retrain once the rows
    seen have grown ``config.retrain.growth`` times since the last fit (never, without it), the
    schedule ``anomaly run`` retrains by."""
    if protocol == "offline":
        return _offline(raw, config)
    return _streaming(raw, config, config.retrain.growth)


def _offline(raw: RawStream, config: PipelineConfig) -> RowResults:
    prepared = prepare_stream(raw, config.preparation, window_length=config.window.length)
    detector = detector_for(config).fit(prepared, labels=labels_for_threshold(config.threshold, raw.name))
    decisions = decide(detector, prepared, detector.score_samples(prepared))
    results = _empty(len(raw.frame))
    everything = np.ones(len(raw.frame), dtype=bool)
    rows = _input_rows(raw, prepared)
    errors = _scores_follow_decisions(decisions.row_errors, decisions, detector, causal=False)
    _fill(results, rows, errors, detector.threshold_, everything)
    _alarm(results, raw, rows, decisions.alarm_rows(causal=False), everything)
    return results


def _streaming(raw: RawStream, config: PipelineConfig, growth: float | None) -> RowResults:
    length = config.window.length
    timestamps = _nanoseconds(raw.frame["timestamp"])
    ordered = np.sort(timestamps)
    n_rows = len(ordered)
    probation = max(probationary_length(n_rows), 1)
    ends = [probation]
    while ends[-1] < n_rows:
        grown = n_rows if growth is None else int(np.ceil(ends[-1] * growth))
        ends.append(min(max(grown, ends[-1] + 1), n_rows))
    preparation = _fixed_frequency(raw, ordered[probation - 1], config)
    labels = labels_for_threshold(config.threshold, raw.name)
    results = _empty(n_rows)
    for seen, until in itertools.pairwise(ends):
        seen_until, chunk_end = ordered[seen - 1], ordered[until - 1]
        chunk = (timestamps > seen_until) & (timestamps <= chunk_end)
        if not chunk.any():
            continue
        prepared = prepare_stream(_rows_until(raw, chunk_end), preparation, window_length=length)
        first_row = int(np.searchsorted(prepared.values.index.asi8, seen_until, side="right"))
        detector = detector_for(config).fit(_head(prepared, first_row), labels=labels)
        scores = detector.score_samples(prepared, first_row=first_row)
        decisions = decide(detector, prepared, scores, first_row=first_row)
        # Causal: each row is ranked by the window that ends at it.
        errors = np.full(len(prepared.values), np.nan)
        errors[scores.starts + length - 1] = scores.window_errors
        errors = _scores_follow_decisions(errors, decisions, detector, causal=True)
        rows = _input_rows(raw, prepared)
        _fill(results, rows, errors, detector.threshold_, chunk)
        _alarm(results, raw, rows, decisions.alarm_rows(causal=True), chunk)
    return results


def _scores_follow_decisions(
    errors: np.ndarray, decisions: Decisions, detector: Detector, *, causal: bool
) -> np.ndarray:
    """``errors`` made to cross the threshold exactly where the detector alarms, so that NAB's threshold
    sweep over ``anomaly_score`` scores at least what the detector's own alarms do: rows above the
    threshold that no decided event holds (pruned events, an event's rows before the anomaly) or that
    come before its alarm (the windows before the confirming one) are brought just under it, and an
    event's rows from its alarm to its end at least just over it. An event merges windows whose
    errors may dip under the threshold for a while (the merge gap; a detector whose error is 0 on
    ordinary rows dips to 0), and every return would otherwise be a new onset that the sweep counts
    as another alarm."""
    threshold = detector.threshold_
    just_under = threshold * (1 - 1e-9) if threshold > 0 else threshold
    just_over = threshold * (1 + 1e-9) if threshold > 0 else 1e-12
    followed = np.where(~decisions.event_rows(causal=causal) & (errors > threshold), just_under, errors)
    for event, (first, last) in zip(decisions.events, decisions.event_spans(causal=causal), strict=True):
        alarm = decisions.alarm_row(event, causal=causal)
        alarm = first if alarm is None else alarm  # a continuation's alarm was raised before its rows
        followed[first:alarm] = np.minimum(followed[first:alarm], just_under)
        span = followed[alarm : last + 1]
        span[np.isfinite(span)] = np.maximum(span[np.isfinite(span)], just_over)
    return followed


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
    """Write the ranking scores of the input rows selected by ``which`` from per-prepared-row ``errors``."""
    error = np.where(rows >= 0, errors[np.maximum(rows, 0)], np.nan)
    scored = which & np.isfinite(error)
    with np.errstate(divide="ignore", invalid="ignore"):
        ranking = np.where(error > 0, error / (error + threshold), 0.0)
    results.anomaly_score[scored] = ranking[scored]


def _alarm(
    results: RowResults, raw: RawStream, rows: np.ndarray, alarm_rows: np.ndarray, which: np.ndarray
) -> None:
    """Mark the alarms at prepared ``alarm_rows`` on the first input row (in time order) that each holds,
    among the input rows selected by ``which``."""
    candidates = np.flatnonzero(which & np.isin(rows, alarm_rows))
    in_time_order = candidates[np.argsort(_nanoseconds(raw.frame["timestamp"])[candidates], kind="stable")]
    _, first = np.unique(rows[in_time_order], return_index=True)
    results.is_anomaly[in_time_order[first]] = True
