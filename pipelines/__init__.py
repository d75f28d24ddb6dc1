"""Pipeline orchestration: runs over streams, their database bookkeeping, and progress reporting.

- ``runner``: ``execute`` carries out ``run``, ``train`` or ``score`` for every stream of a source.
- ``stream_job``: what happens to one stream (prepare, train or load, score, write in one transaction).
- ``bookkeeping``: the ``runs`` row that records each invocation.
- ``progress``: a progress bar on a terminal, plain log lines without one.
- ``*.toml``: pipeline definitions; ``sample.toml`` runs the bundled sample data.
"""

from pipelines.runner import Command, RunSummary, StreamOutcome, execute

__all__ = ["Command", "RunSummary", "StreamOutcome", "execute"]
