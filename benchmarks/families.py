"""Detection quality on every development family, counted as each family's README says.

    .venv/bin/python benchmarks/families.py [--detector NAME] [--set SECTION.KEY=VALUE ...]
        [--merge-gap WINDOWS] [--min-flagged WINDOWS] [--escalation FACTOR]
        [--families nab-dev telemetry-dev ucr-dev]
        [--protocols streaming offline] [--json OUT]

For every family and protocol it runs ``anomaly evaluate`` (``anomaly.evaluation.evaluate``) with the
library defaults (or the detector and settings given; ``--merge-gap`` replaces the product's
``anomaly.events.MERGE_GAP_WINDOWS`` for this process, to compare event merge rules, and
``--min-flagged`` ``anomaly.events.MIN_FLAGGED_WINDOWS``, ``--escalation``
``anomaly.events.ESCALATION_FACTOR``, ``inf`` for no split), writes the
per-row output to a temporary folder and counts, from the detector's own alarms (``is_anomaly``):

- ``nab-dev``: the NAB standard score and event precision/recall/F1 over all rows, as NAB does;
- ``sample``: the bundled ``sample_data/`` through ``anomaly run`` (the ``pipeline`` protocol: one run
  trains on everything and stores events), event precision/recall/F1 of the stored anomalies;
- ``telemetry-dev`` and ``ucr-dev``: event precision/recall/F1 on the rows after each file's
  ``train_rows`` only (the anomaly-free training part is not judged); for ``ucr-dev`` also how many of
  the four anomalies an alarm found and the most false events in one series.

It reads ``../shared/datasets`` (development data; tests never do) and prints one table, then one JSON
line. Which data chose a setting and which reports it is for the reader of docs/quality.md to keep apart:
this script only measures.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from anomaly import events
from anomaly.config import config_from_dict
from anomaly.data.labels import load_labels
from anomaly.evaluation import evaluate
from anomaly.evaluation.metrics import alarm_intervals, event_scores

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("nab-dev", "telemetry-dev", "ucr-dev", "sample")
PROTOCOLS = ("streaming", "offline")


@dataclass(frozen=True)
class FamilyResult:
    """One family under one protocol: event counts of the judged rows, and the NAB score where defined."""

    family: str
    protocol: str
    precision: float
    recall: float
    f1: float
    true_events: int
    false_events: int
    found: int
    labelled: int
    nab_standard: float | None
    most_false_in_a_series: int
    seconds: float

    def row(self) -> str:
        nab = "-" if self.nab_standard is None else f"{self.nab_standard:.1f}"
        return (
            f"| {self.family} | {self.protocol} | {self.precision:.3f} | {self.recall:.3f} | {self.f1:.3f} | "
            f"{self.found}/{self.labelled} | {self.false_events} ({self.most_false_in_a_series}) | {nab} | "
            f"{self.seconds:.0f} |"
        )


def _counted(
    family: str,
    protocol: str,
    detected: dict[str, list],
    labels: dict[str, list],
    nab_standard: float | None,
    started: float,
) -> FamilyResult:
    """The event counts of ``detected`` intervals against ``labels``, in total and the most false
    events of any one series."""
    events = event_scores(detected, labels)
    most_false = max(
        (
            event_scores({name: found}, {name: labels.get(name, [])}).false_events
            for name, found in detected.items()
        ),
        default=0,
    )
    return FamilyResult(
        family=family,
        protocol=protocol,
        precision=events.precision,
        recall=events.recall,
        f1=events.f1,
        true_events=events.true_events,
        false_events=events.false_events,
        found=events.found_labels,
        labelled=events.total_labels,
        nab_standard=nab_standard,
        most_false_in_a_series=most_false,
        seconds=time.perf_counter() - started,
    )


def measure_sample(raw_config: dict[str, Any]) -> FamilyResult:
    """The bundled sample data through the pipeline (``anomaly run``) with ``raw_config``, into a
    temporary SQLite file; the stored anomalies against ``sample_data/labels.json``."""
    from sqlalchemy import select

    from anomaly.storage.database import open_engine
    from anomaly.storage.schema import Anomaly, Stream
    from pipelines import Command, execute

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        storage = {"db": f"sqlite:///{work}/sample.db", "models": f"{work}/models"}
        config = config_from_dict(
            {"source": {"path": str(ROOT / "sample_data" / "sensors.csv")}, **raw_config, "storage": storage}
        )
        execute(config, Command.RUN)
        engine = open_engine(config.storage.db)
        with engine.connect() as connection:
            rows = connection.execute(
                select(Stream.name, Anomaly.start_ts, Anomaly.end_ts).join(Anomaly)
            ).all()
        engine.dispose()
    detected: dict[str, list] = {}
    for name, start, end in rows:
        detected.setdefault(name, []).append((pd.Timestamp(start), pd.Timestamp(end)))
    labels = load_labels(ROOT / "sample_data" / "labels.json")
    return _counted("sample", "pipeline", detected, labels, None, started)


def measure(family: str, protocol: str, raw_config: dict[str, Any]) -> FamilyResult:
    """Evaluate ``family`` under ``protocol`` with the configuration ``raw_config`` (sections over the
    defaults), counting as the family's README says."""
    root = DATASETS / family
    config = config_from_dict({"source": {"path": str(root / "data")}, **raw_config})
    train_rows_file = root / "train_rows.json"
    train_rows = json.loads(train_rows_file.read_text()) if train_rows_file.exists() else {}
    labels = load_labels(root / "labels.json")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        report = evaluate(root / "data", root / "labels.json", protocol, config, Path(out))
        detected, judged_labels = {}, {}
        for name, windows in labels.items():
            rows = pd.read_csv(Path(out) / name, parse_dates=["timestamp"]).sort_values(
                "timestamp", kind="stable"
            )
            rows = rows.iloc[train_rows.get(name, 0) :]
            stamps = pd.DatetimeIndex(rows["timestamp"]).tz_localize("UTC")
            detected[name] = alarm_intervals(stamps, rows["is_anomaly"].to_numpy(dtype=bool))
            judged_labels[name] = [window for window in windows if window[1] >= stamps[0]]
    nab_standard = report.nab["standard"].normalised if family == "nab-dev" else None
    return _counted(family, protocol, detected, judged_labels, nab_standard, started)


def _settings(pairs: list[str]) -> dict[str, Any]:
    """``section.key=value`` pairs (value as JSON, else a string) as config sections."""
    raw: dict[str, Any] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        section, _, field = key.partition(".")
        if field:
            raw.setdefault(section, {})[field] = parsed
        else:
            raw[section] = parsed
    return raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default=None, help="a registered detector (default: the library's)")
    parser.add_argument("--set", nargs="*", default=[], metavar="SECTION.KEY=VALUE", help="config settings")
    parser.add_argument("--families", nargs="*", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--protocols", nargs="*", default=list(PROTOCOLS), choices=PROTOCOLS)
    merge_help = f"windows starting fewer window lengths apart join (default {events.MERGE_GAP_WINDOWS})"
    parser.add_argument("--merge-gap", type=int, metavar="WINDOWS", help=merge_help)
    flagged_help = f"flagged windows an event needs (default {events.MIN_FLAGGED_WINDOWS})"
    parser.add_argument("--min-flagged", type=int, choices=range(1, 49), metavar="WINDOWS", help=flagged_help)
    escalation_help = f"error that splits a merged event (default {events.ESCALATION_FACTOR} x its peak)"
    parser.add_argument("--escalation", type=float, metavar="FACTOR", help=escalation_help)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.merge_gap is not None:
        events.MERGE_GAP_WINDOWS = args.merge_gap
    if args.min_flagged is not None:
        events.MIN_FLAGGED_WINDOWS = args.min_flagged
    if args.escalation is not None:
        events.ESCALATION_FACTOR = args.escalation
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    raw = _settings(args.set)
    if args.detector:
        raw["detector"] = args.detector
    results = []
    print("| family | protocol | P | R | F1 | found | false events (most in a series) | NAB std | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for family in args.families:
        if family == "sample":
            results.append(measure_sample(raw))
            print(results[-1].row(), flush=True)
            continue
        for protocol in args.protocols:
            if family == "nab-dev" and protocol == "offline":
                continue  # NAB is a streaming benchmark
            result = measure(family, protocol, raw)
            results.append(result)
            print(result.row(), flush=True)
    summary = {
        "config": raw,
        "merge_gap_windows": events.MERGE_GAP_WINDOWS,
        "min_flagged_windows": events.MIN_FLAGGED_WINDOWS,
        "escalation_factor": events.ESCALATION_FACTOR,
        "results": [result.__dict__ for result in results],
    }
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
