"""Detection quality on the NAB development subset: the default LSTM configuration against a rolling
z-score baseline, offline protocol; writes the table to docs/quality.md.

    .venv/bin/python benchmarks/quality.py [--data ../shared/datasets/nab-dev] [--protocol offline]

The baseline runs first (seconds), so the table has a row even if the LSTM run is stopped.
"""

from __future__ import annotations

import argparse
import logging
import platform
from pathlib import Path

from anomaly.config import config_for_data
from anomaly.evaluation import EvaluationReport, evaluate
from anomaly.evaluation.baseline import rolling_z_scorer
from anomaly.evaluation.scorers import lstm_scorer

ROOT = Path(__file__).resolve().parents[1]
DETECTORS = {"rolling z-score baseline": rolling_z_scorer, "LSTM autoencoder (default config)": lstm_scorer}


def _row(name: str, report: EvaluationReport) -> str:
    nab = [report.nab[profile].normalised for profile in report.nab]
    best = [report.nab_optimised[profile].score.normalised for profile in report.nab_optimised]
    cells = [
        name,
        f"{report.events.precision:.3f}",
        f"{report.events.recall:.3f}",
        f"{report.events.f1:.3f}",
        *(f"{value:.1f}" for value in nab),
        *(f"{value:.1f}" for value in best),
        "-" if report.pr_auc is None else f"{report.pr_auc:.3f}",
        f"{report.seconds:.0f}",
    ]
    return "| " + " | ".join(cells) + " |"


def _markdown(rows: list[str], data: Path, protocol: str, details: list[str]) -> str:
    return "\n".join(
        [
            "# Detection quality",
            "",
            f"NAB development subset (`{data.name}`: 13 series, 25 labelled windows), protocol `{protocol}`, "
            f"measured on {platform.machine()} with {platform.python_version()} (CPU).",
            "",
            "Event P/R/F1: runs of alarmed rows against labelled windows, no point adjustment. NAB: "
            "normalised score (100 perfect, 0 no alarm) of the detector's own decisions (`is_anomaly`, "
            "threshold learnt without labels), then at the threshold on `anomaly_score` that NAB's "
            "optimiser picks with the labels (an upper bound). PR-AUC: point-wise average precision of "
            "`anomaly_score`, pooled over all rows. NAB counts every alarmed row outside a window as a "
            "false positive, so detectors that flag whole windows of rows pay for it.",
            "",
            "| detector | P | R | F1 | NAB std | NAB low FP | NAB low FN "
            "| NAB std (opt.) | NAB low FP (opt.) | NAB low FN (opt.) | PR-AUC | seconds |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Reproduce:",
            "",
            "```",
            f".venv/bin/python benchmarks/quality.py --data {data} --protocol {protocol}",
            f"anomaly evaluate --data {data}/data --labels {data}/labels.json --protocol {protocol}",
            "```",
            "",
            "Per-file results:",
            "",
            *details,
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "nab-dev")
    parser.add_argument("--protocol", choices=["offline", "streaming"], default="offline")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "quality.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = config_for_data(args.data / "data")
    rows, details = [], []
    for name, scorer in DETECTORS.items():
        report = evaluate(args.data / "data", args.data / "labels.json", args.protocol, config, scorer=scorer)
        print(report.to_text())
        rows.append(_row(name, report))
        details += [f"{name}:", "", "```", report.to_text(), "```", ""]
        args.doc.write_text(_markdown(rows, args.data, args.protocol, details), encoding="utf-8")


if __name__ == "__main__":
    main()
