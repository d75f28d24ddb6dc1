"""Detection quality on the NAB development subset: candidate configurations against a rolling z-score
baseline, under both evaluation protocols; writes the comparison table to docs/quality.md.

    .venv/bin/python benchmarks/quality.py [--protocol streaming|offline|both] [--only NAME ...]
    .venv/bin/python benchmarks/quality.py --list | --rebuild

Each (protocol, candidate) result is kept under ``.bench/quality/`` (JSON and text), so candidates can be
run one at a time (``--only``) and the table is rebuilt from every result kept so far. The candidates are
fixed here, in code, so that the table says exactly what ran; the defaults are chosen from this table,
on nab-dev only (a development set: the detector is also judged on series that are not in it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anomaly.config import PipelineConfig, config_from_dict
from anomaly.evaluation import EvaluationReport, evaluate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / ".bench" / "quality"
PROTOCOLS = ("streaming", "offline")


@dataclass(frozen=True)
class Candidate:
    """A detector configuration in the comparison: top-level keys and sections over the defaults."""

    name: str
    description: str
    sections: dict[str, Any] = field(default_factory=dict)

    def config(self, data: Path) -> PipelineConfig:
        """The full configuration this candidate runs with on ``data``."""
        return config_from_dict({"source": {"path": str(data)}, **self.sections})


SMALL = {
    "model": {"units": 32, "epochs": 15, "patience": 3, "variant": "reconstruction"},
    "threshold": {"margin": 1.2},
    "scoring": {"ewma_alpha": 1.0},
}
"""The base of the LSTM candidates: the reconstruction autoencoder, small and quick to train, with the
block-maxima threshold at margin 1.2 and no smoothing; each candidate changes one or two things."""


def _small(**sections: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``SMALL`` with ``sections`` merged in, section by section; a threshold section naming its
    ``method`` replaces SMALL's, whose margin is a parameter of block-maxima only."""
    merged = {key: {**SMALL.get(key, {}), **sections.get(key, {})} for key in SMALL.keys() | sections.keys()}
    if "method" in sections.get("threshold", {}):
        merged["threshold"] = sections["threshold"]
    return merged


CANDIDATES: tuple[Candidate, ...] = (
    Candidate(
        "baseline",
        "rolling z-score of each window's last value against the rows before it",
        {"detector": "rolling_zscore"},
    ),
    Candidate(
        "lstm-default",
        "the configuration's defaults: prediction variant (8 rows), 32 units, up to 15 epochs (patience 3), "
        "block-maxima margin 1.35 (chosen from this table), EWMA 0.1 and 3 threshold refits (chosen on the "
        "four development families, benchmarks/families.py)",
    ),
    Candidate(
        "lstm-previous",
        "the defaults before this comparison (and the sample pipeline's model): reconstruction, 64 units, "
        "up to 60 epochs (patience 10), margin 1.2, no smoothing",
        {
            "model": {"units": 64, "epochs": 60, "patience": 10, "variant": "reconstruction"},
            "threshold": {"margin": 1.2},
            "scoring": {"ewma_alpha": 1.0},
        },
    ),
    Candidate(
        "lstm-small",
        "reconstruction, 32 units, up to 15 epochs (patience 3), block-maxima margin 1.2, no smoothing",
        _small(),
    ),
    Candidate(
        "small-validation",
        "lstm-small, threshold learnt from the held-out tail only",
        _small(threshold={"errors": "validation"}),
    ),
    Candidate("small-mad", "lstm-small, threshold median + 6 MAD", _small(threshold={"method": "mad"})),
    Candidate("small-spot", "lstm-small, SPOT threshold (risk 1e-4)", _small(threshold={"method": "spot"})),
    Candidate(
        "small-dynamic", "lstm-small, telemanom's dynamic threshold", _small(threshold={"method": "dynamic"})
    ),
    Candidate(
        "small-prediction",
        "lstm-small, prediction variant (8 steps)",
        _small(model={"variant": "prediction"}),
    ),
    Candidate(
        "small-composite",
        "lstm-small, composite variant (both decoders)",
        _small(model={"variant": "composite"}),
    ),
    Candidate(
        "small-mahalanobis",
        "lstm-small, Mahalanobis distance of the residuals",
        _small(scoring={"error": "mahalanobis"}),
    ),
    Candidate(
        "small-ewma", "lstm-small, errors smoothed by EWMA (alpha 0.2)", _small(scoring={"ewma_alpha": 0.2})
    ),
    Candidate(
        "small-trailing",
        "lstm-small, each error a z-score against the 480 windows before it",
        _small(scoring={"trailing": 480}),
    ),
    Candidate(
        "prediction-margin",
        "small-prediction, block-maxima threshold margin 1.5 instead of 1.2",
        _small(model={"variant": "prediction"}, threshold={"margin": 1.5}),
    ),
    Candidate(
        "prediction-ewma",
        "small-prediction, errors smoothed by EWMA (alpha 0.2)",
        _small(model={"variant": "prediction"}, scoring={"ewma_alpha": 0.2}),
    ),
    Candidate(
        "prediction-ewma-margin",
        "prediction-ewma, block-maxima threshold margin 1.35 instead of 1.2",
        _small(model={"variant": "prediction"}, scoring={"ewma_alpha": 0.2}, threshold={"margin": 1.35}),
    ),
    Candidate(
        "prediction-ewma-margin-fast",
        "prediction-ewma-margin trained on every 8th window in batches of 128 (training stride 8)",
        _small(
            model={"variant": "prediction", "batch_size": 128},
            window={"train_stride": 8},
            scoring={"ewma_alpha": 0.2},
            threshold={"margin": 1.35},
        ),
    ),
    Candidate(
        "prediction-ewma-0.1",
        "small-prediction, errors smoothed by EWMA (alpha 0.1)",
        _small(model={"variant": "prediction"}, scoring={"ewma_alpha": 0.1}),
    ),
    Candidate(
        "composite-ewma-margin",
        "composite-ewma, block-maxima threshold margin 1.35 instead of 1.2",
        _small(model={"variant": "composite"}, scoring={"ewma_alpha": 0.2}, threshold={"margin": 1.35}),
    ),
    Candidate(
        "prediction-window96",
        "small-prediction with windows of 96 rows (training stride 8)",
        _small(model={"variant": "prediction"}, window={"length": 96, "train_stride": 8}),
    ),
    Candidate(
        "composite-ewma",
        "small-composite, errors smoothed by EWMA (alpha 0.2)",
        _small(model={"variant": "composite"}, scoring={"ewma_alpha": 0.2}),
    ),
    Candidate(
        "prediction-trailing",
        "small-prediction, each error a z-score against the 480 windows before it",
        _small(model={"variant": "prediction"}, scoring={"trailing": 480}),
    ),
)
BY_NAME: dict[str, Candidate] = {candidate.name: candidate for candidate in CANDIDATES}


def _result_path(protocol: str, name: str, suffix: str) -> Path:
    return RESULTS / protocol / f"{name}.{suffix}"


def run(candidate: Candidate, protocol: str, data: Path) -> EvaluationReport:
    """Evaluate one candidate under one protocol and keep its report."""
    report = evaluate(
        data / "data",
        data / "labels.json",
        protocol,
        candidate.config(data / "data"),
    )
    _result_path(protocol, candidate.name, "json").parent.mkdir(parents=True, exist_ok=True)
    _result_path(protocol, candidate.name, "json").write_text(report.to_json(), encoding="utf-8")
    _result_path(protocol, candidate.name, "txt").write_text(report.to_text(), encoding="utf-8")
    return report


def number(value: float | None, digits: int) -> str:
    """``value`` rounded for the table; '-' where it is undefined."""
    return "-" if value is None else f"{value:.{digits}f}"


def _cells(total: dict[str, Any]) -> list[str]:
    events, nab, optimised = total["events"], total["nab"], total["nab_optimised_threshold"]
    return [
        number(events["precision"], 3),
        number(events["recall"], 3),
        number(events["f1"], 3),
        *(number(nab[profile]["score"], 1) for profile in nab),
        number(optimised["standard"]["score"], 1),
        number(total["pr_auc"], 3),
        number(total.get("vus_pr"), 3),  # results kept before VUS-PR existed have none
        f"{total['seconds']:.0f}",
    ]


def table(protocol: str) -> list[str]:
    """The markdown table of every kept result of ``protocol``, in candidate order."""
    lines = [
        "| candidate | P | R | F1 | NAB std | NAB low FP | NAB low FN | NAB std (opt.) | PR-AUC | VUS-PR "
        "| seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for candidate in CANDIDATES:
        path = _result_path(protocol, candidate.name, "json")
        if path.exists():
            total = json.loads(path.read_text(encoding="utf-8"))["total"]
            lines.append("| " + " | ".join([f"`{candidate.name}`", *_cells(total)]) + " |")
    return lines


def markdown(data: Path) -> str:
    """docs/quality.md: what each candidate is, the tables of both protocols, per-file details."""
    text = [
        "# Detection quality",
        "",
        f"NAB development subset (`{data.name}`: 13 series, 25 labelled windows), measured on "
        f"{platform.machine()} with Python {platform.python_version()}, CPU only, 2 cores.",
        "",
        "Event P/R/F1: runs of alarmed rows against labelled windows, no point adjustment. NAB: normalised "
        "score (100 perfect, 0 no alarm) of the detector's own decisions (`is_anomaly`: one alarm where "
        "the error rises above the threshold learnt without labels); `NAB std (opt.)`: at the threshold on "
        "`anomaly_score` that NAB's optimiser picks with the labels (an upper bound; alarms by the same "
        "rule). PR-AUC: point-wise average precision of `anomaly_score`, pooled over all rows. VUS-PR: the "
        "same ranking with soft label edges (range-based PR-AUC averaged over label buffers up to the "
        "series' period, README's Evaluation), the mean over the series. Seconds: wall time of the whole "
        "evaluation on the 2-core machine, training included; candidates often ran two or three at a "
        "time, so compare seconds only roughly.",
        "",
        "Candidates:",
        "",
        *(f"- `{candidate.name}`: {candidate.description}" for candidate in CANDIDATES),
        "",
    ]
    for protocol in PROTOCOLS:
        text += [f"## Protocol `{protocol}`", "", *table(protocol), ""]
    text += [
        "The offline protocol (fit on the whole series) ran for the baseline and the default only. Fitted "
        "on everything, anomalies included, the model partly learns the anomalies too, so it finds fewer "
        "of them than in streaming, with surer alarms.",
        "",
    ]
    text += [
        "How the defaults were chosen: under the streaming protocol (the one scheduled runs live by), the "
        "candidate with the best event F1 among those with a NAB standard score above 50, trying one "
        "change at a time from `lstm-small` and then combining the changes that helped (the prediction "
        "variant, EWMA smoothing, a higher threshold margin). Every candidate uses the same settings for "
        "all 13 series: nothing is set per file. nab-dev is a development set, so these figures flatter "
        "the chosen candidate somewhat; the detector is also judged on series that are not in it.",
        "",
    ]
    data = Path(os.path.relpath(data, ROOT))
    text += [
        "Reproduce (each candidate's result is kept under `.bench/quality/`):",
        "",
        "```",
        f".venv/bin/python benchmarks/quality.py --data {data} --protocol streaming",
        f".venv/bin/python benchmarks/quality.py --data {data} --protocol offline "
        "--only baseline lstm-default",
        f"anomaly evaluate --data {data}/data --labels {data}/labels.json --protocol streaming",
        "```",
        "",
        "## Per-file results",
        "",
    ]
    for protocol in PROTOCOLS:
        for candidate in CANDIDATES:
            path = _result_path(protocol, candidate.name, "txt")
            if path.exists():
                text += [
                    f"`{candidate.name}`, {protocol}:",
                    "",
                    "```",
                    path.read_text(encoding="utf-8"),
                    "```",
                    "",
                ]
    return "\n".join(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "nab-dev")
    parser.add_argument("--protocol", choices=[*PROTOCOLS, "both"], default="both")
    parser.add_argument("--only", nargs="+", choices=list(BY_NAME), help="run only these candidates")
    parser.add_argument("--list", action="store_true", help="list the candidates and exit")
    parser.add_argument("--rebuild", action="store_true", help="only rewrite the doc from the kept results")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "quality.md")
    args = parser.parse_args()
    if args.list:
        for candidate in CANDIDATES:
            print(f"{candidate.name}: {candidate.description}")
        return
    if args.rebuild:
        args.doc.write_text(markdown(args.data), encoding="utf-8")
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    protocols = PROTOCOLS if args.protocol == "both" else (args.protocol,)
    for protocol in protocols:
        for name in args.only or list(BY_NAME):
            report = run(BY_NAME[name], protocol, args.data)
            print(f"{protocol} {name}:\n{report.to_text()}", flush=True)
            args.doc.write_text(markdown(args.data), encoding="utf-8")


if __name__ == "__main__":
    main()
