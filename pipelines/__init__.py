"""Pipeline orchestration: runs over streams, their database bookkeeping, and progress reporting.

- ``runner``: ``execute`` carries out ``run``, ``train`` or ``score`` for every stream of a source.
- ``stream_job``: what happens to one stream (prepare, train or load, score, write in one transaction).
- ``bookkeeping``: the ``runs`` row that records each invocation.
- ``progress``: a progress bar on a terminal, plain log lines without one.
- ``*.toml``: pipeline definitions; ``sample.toml`` runs the bundled sample data.
- ``locks``: per-stream and per-run locks, so overlapping runs never work on the same stream.
- ``schedule``: ``anomaly schedule``: runs at a fixed rate until stopped.
- ``metrics``: each run's Prometheus metrics, as a node-exporter textfile or an HTTP endpoint.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Command", "RunSummary", "StreamOutcome", "execute"]


def __getattr__(name: str) -> Any:
    """Load the runner on first use, so ``anomaly --help`` does not pay for it."""
    if name in __all__:
        from pipelines import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
