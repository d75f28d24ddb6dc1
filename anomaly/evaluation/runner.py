"""``evaluate``: run a detector over a labelled directory of CSV files and measure it.

Every stream is scored under one protocol (see ``protocols``), its rows are written back in input order
with the label of each row, and the metrics are computed on the rows in time order: event-level
precision/recall/F1 on runs of alarmed rows, the NAB score (three profiles, at the detector's decisions
and at NAB's optimised threshold), and two threshold-free measures of the ranking score: the point-wise
PR-AUC (pooled over all rows in the total) and the range-based VUS-PR (per file, its buffer set by the
file's period; the mean over the labelled files in the total, as TSB-AD reports it).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.config import PipelineConfig
from anomaly.data import RawStream, load_source
from anomaly.data.labels import load_labels
from anomaly.errors import AnomalyError
from anomaly.evaluation.metrics import Interval, alarm_intervals, event_scores, pr_auc
from anomaly.evaluation.nab import (
    PROFILES,
    NabRows,
    NabScore,
    best_threshold,
    nab_rows,
    nab_score,
)
from anomaly.evaluation.protocols import EvaluationProtocol, RowResults, score_rows
from anomaly.evaluation.report import EvaluationReport, FileReport
from anomaly.evaluation.vus import sliding_window, vus_pr

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Scored:
    """One evaluated file: its report, and its rows in time order for the corpus-wide metrics."""

    report: FileReport
    detected: list[Interval]
    rows: NabRows
    anomaly_score: np.ndarray
    label: np.ndarray


def evaluate(
    data: Path,
    labels: Path,
    protocol: EvaluationProtocol,
    config: PipelineConfig,
    out: Path | None = None,
) -> EvaluationReport:
    """Score every stream under ``data`` with ``config``'s detector and report the metrics.

    With ``out``, write ``out/<stream name>`` per stream: the input rows in input order with
    ``anomaly_score``, ``is_anomaly`` and ``label``. ``config.detector`` chooses the detector
    (e.g. the ``rolling_zscore`` baseline), and ``config.retrain.growth`` how much the rows seen grow
    between two fits in the streaming protocol.
    """
    started = time.perf_counter()
    windows = load_labels(labels)
    source = load_source(config.with_overrides(data=data).source)
    failures = {name: str(error) for name, error in source.failures.items()}
    scored = [
        _evaluate_stream(raw, windows.get(raw.name, []), protocol, config, out) for raw in source.streams
    ]
    names = {item.report.name for item in scored}
    failures |= {
        name: "labelled but not in the data" for name in windows if name not in names and name not in failures
    }
    return EvaluationReport(
        protocol=protocol,
        files=[item.report for item in scored],
        events=event_scores(
            {item.report.name: item.detected for item in scored},
            {name: windows.get(name, []) for name in names},
        ),
        nab={
            profile.name: sum((item.report.nab[profile.name] for item in scored), NabScore(0.0, 0.0, 0.0))
            for profile in PROFILES
        },
        nab_optimised={
            profile.name: best_threshold(
                [(item.rows, item.anomaly_score) for item in scored], profile, quiet_rows=config.window.length
            )
            for profile in PROFILES
        },
        pr_auc=pr_auc(
            np.concatenate([item.label for item in scored] or [np.empty(0)]),
            np.concatenate([item.anomaly_score for item in scored] or [np.empty(0)]),
        ),
        vus_pr=_mean([item.report.vus_pr for item in scored if item.report.vus_pr is not None]),
        seconds=time.perf_counter() - started,
        failures=failures,
    )


def _evaluate_stream(
    raw: RawStream,
    windows: list[Interval],
    protocol: EvaluationProtocol,
    config: PipelineConfig,
    out: Path | None,
) -> _Scored:
    started = time.perf_counter()
    error = None
    try:
        results = score_rows(raw, protocol, config)
    except AnomalyError as exc:
        log.warning("%s could not be scored: %s", raw.name, exc)
        error = str(exc)
        results = RowResults(np.zeros(len(raw.frame)), np.zeros(len(raw.frame), dtype=bool))
    seconds = time.perf_counter() - started
    stamps = pd.DatetimeIndex(raw.frame["timestamp"])
    label = _in_windows(stamps, windows)
    if out is not None:
        _write_rows(out / raw.name, raw, results, label)

    order = np.argsort(stamps.asi8, kind="stable")
    ordered = stamps[order]
    rows = nab_rows(ordered, windows)
    alarms = results.is_anomaly[order]
    detected = alarm_intervals(ordered, alarms)
    report = FileReport(
        name=raw.name,
        rows=len(raw.frame),
        windows=len(windows),
        events=event_scores({raw.name: detected}, {raw.name: windows}),
        nab={profile.name: nab_score(rows, alarms, profile) for profile in PROFILES},
        pr_auc=pr_auc(label, results.anomaly_score),
        vus_pr=vus_pr(
            label[order],
            results.anomaly_score[order],
            max_buffer=sliding_window(raw.frame[raw.channels[0]].to_numpy()[order]),
        ),
        seconds=seconds,
        error=error,
    )
    log.info("%s: %d rows in %.1f s", raw.name, len(raw.frame), seconds)
    return _Scored(report, detected, rows, results.anomaly_score[order], label[order])


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _in_windows(stamps: pd.DatetimeIndex, windows: list[Interval]) -> np.ndarray:
    """1 where a row's timestamp lies in a labelled window (bounds included), else 0."""
    label = np.zeros(len(stamps), dtype=np.int8)
    for start, end in windows:
        label[(stamps >= start) & (stamps <= end)] = 1
    return label


def _write_rows(path: Path, raw: RawStream, results: RowResults, label: np.ndarray) -> None:
    """The output contract: the input rows in input order (timestamps as naive UTC, NAB's style)."""
    frame = raw.frame.assign(
        timestamp=raw.frame["timestamp"].dt.tz_localize(None),
        anomaly_score=results.anomaly_score,
        is_anomaly=results.is_anomaly.astype(np.int8),
        label=label,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
