"""Detection quality on labelled data (``anomaly evaluate``).

- ``nab``: the Numenta Anomaly Benchmark score (profiles, probation, optimised threshold).
- ``metrics``: event-level precision/recall/F1 (no point adjustment) and the point-wise PR-AUC.
- ``vus``: VUS-PR, the range-based PR-AUC with buffered label edges, averaged over buffer lengths.
- ``protocols``: ``offline`` (fit on the whole series) and ``streaming`` (NAB's rules, no look-ahead),
  giving each input row a ranking score in [0, 1] and the alarms of the pipeline's own decision path,
  for any registered detector.
- ``runner``: ``evaluate`` over a directory of CSV files, writing the per-row output and the report.
- ``report``: the per-file and total metrics as a text table or JSON.
- ``command``: the ``anomaly evaluate`` subcommand.
"""

from anomaly.lazy_exports import lazy_exports

# Names resolve on first use, so that importing the ``command`` submodule (which ``anomaly --help``
# does) does not load pandas, scikit-learn and the model code.
_EXPORTS = {
    "PROFILES": "nab",
    "CostProfile": "nab",
    "NabScore": "nab",
    "OptimisedScore": "nab",
    "best_threshold": "nab",
    "EvaluationProtocol": "protocols",
    "RowResults": "protocols",
    "score_rows": "protocols",
    "EvaluationReport": "report",
    "FileReport": "report",
    "evaluate": "runner",
    "EventScores": "metrics",
    "event_scores": "metrics",
    "pr_auc": "metrics",
    "sliding_window": "vus",
    "vus_pr": "vus",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
