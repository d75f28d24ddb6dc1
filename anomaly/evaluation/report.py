"""What an evaluation reports, per file and in total, as a text table or JSON.

NAB scores appear twice, clearly apart: at the detector's own decisions (``is_anomaly``, the threshold it
learnt without labels) and at the threshold on ``anomaly_score`` that NAB's optimiser would pick with the
labels, per profile; the second is an upper bound, not something the detector could do unaided.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from anomaly.evaluation.metrics import EventScores
from anomaly.evaluation.nab import NabScore, OptimisedScore


@dataclass(frozen=True)
class FileReport:
    """The metrics of one input file; ``error`` says why it could not be scored (it then counts as
    a detector that raises no alarm, so totals stay comparable between detectors)."""

    name: str
    rows: int
    windows: int
    events: EventScores
    nab: dict[str, NabScore]
    pr_auc: float | None
    vus_pr: float | None
    seconds: float
    error: str | None = None


@dataclass(frozen=True)
class EvaluationReport:
    """Per-file and total metrics of one evaluation; ``failures`` names the streams that were not
    evaluated at all (unreadable, or labelled but absent from the data). The total ``pr_auc`` pools all
    rows; the total ``vus_pr`` is the mean over the files with a labelled row (a buffer is one file's)."""

    protocol: str
    files: list[FileReport]
    events: EventScores
    nab: dict[str, NabScore]
    nab_optimised: dict[str, OptimisedScore]
    pr_auc: float | None
    vus_pr: float | None
    seconds: float
    failures: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "protocol": self.protocol,
            "total": {
                "events": _events(self.events),
                "nab": {name: _nab(score) for name, score in self.nab.items()},
                "nab_optimised_threshold": {
                    name: {"threshold": best.threshold, **_nab(best.score)}
                    for name, best in self.nab_optimised.items()
                },
                "pr_auc": self.pr_auc,
                "vus_pr": self.vus_pr,
                "seconds": self.seconds,
            },
            "files": [
                {
                    "name": report.name,
                    "rows": report.rows,
                    "windows": report.windows,
                    "events": _events(report.events),
                    "nab": {name: _nab(score) for name, score in report.nab.items()},
                    "pr_auc": report.pr_auc,
                    "vus_pr": report.vus_pr,
                    "seconds": report.seconds,
                    "error": report.error,
                }
                for report in self.files
            ],
            "failures": self.failures,
        }

    def to_json(self) -> str:
        """The report as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        """A fixed-width table: one line per file, a total line, then the NAB-optimised thresholds."""
        profiles = list(self.nab)
        header = ["file", "rows", "win", "P", "R", "F1", *(f"NAB {name}" for name in profiles)]
        header += ["PR-AUC", "VUS-PR", "s"]
        lines = [
            [
                report.name + (" (failed)" if report.error else ""),
                str(report.rows),
                str(report.windows),
                *_event_cells(report.events),
                *(_number(report.nab[name].normalised) for name in profiles),
                _number(report.pr_auc, 3),
                _number(report.vus_pr, 3),
                f"{report.seconds:.1f}",
            ]
            for report in self.files
        ]
        lines.append(
            [
                "TOTAL",
                str(sum(report.rows for report in self.files)),
                str(sum(report.windows for report in self.files)),
                *_event_cells(self.events),
                *(_number(self.nab[name].normalised) for name in profiles),
                _number(self.pr_auc, 3),
                _number(self.vus_pr, 3),
                f"{self.seconds:.1f}",
            ]
        )
        widths = [max(len(row[column]) for row in [header, *lines]) for column in range(len(header))]
        table = [
            "  ".join(
                cell.ljust(width) if column == 0 else cell.rjust(width)
                for column, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
            for row in [header, *lines]
        ]
        text = [f"protocol: {self.protocol}; NAB at the detector's own decisions (is_anomaly)", *table]
        text += ["PR-AUC: point-wise, all rows pooled; VUS-PR: range-based, mean over the labelled files", ""]
        text.append("NAB at the threshold on anomaly_score that NAB's optimiser picks with the labels:")
        text += [
            f"  {name}: {_number(best.score.normalised)} "
            f"(an alarm where anomaly_score rises to {best.threshold:.4f} or above)"
            for name, best in self.nab_optimised.items()
        ]
        text += [f"not evaluated: {name}: {why}" for name, why in self.failures.items()]
        return "\n".join(text)


def _events(events: EventScores) -> dict[str, float | int]:
    return {
        "precision": events.precision,
        "recall": events.recall,
        "f1": events.f1,
        "true_events": events.true_events,
        "false_events": events.false_events,
        "found_windows": events.found_labels,
        "windows": events.total_labels,
    }


def _nab(score: NabScore) -> dict[str, float | None]:
    return {"score": score.normalised, "raw": score.raw, "null": score.null, "perfect": score.perfect}


def _event_cells(events: EventScores) -> list[str]:
    return [_number(events.precision, 3), _number(events.recall, 3), _number(events.f1, 3)]


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
