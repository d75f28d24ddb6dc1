"""Wall-clock seconds per named phase of a piece of work (prepare, train, score, ...).

Runs report where their time went (``RunSummary.phase_seconds``, ``benchmarks/fleet.py``) without a
profiler: each phase is timed with ``time.perf_counter`` around the call that does it, which costs
well under a microsecond a phase. ``PhaseTimer.seconds`` is a plain dict of floats so that it crosses
process boundaries (an executor's worker pickles its result) unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager


class PhaseTimer:
    """Adds up the seconds spent in each named phase; a phase entered twice counts both times."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as part of phase ``name``, also when it raises."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def summed_phases(parts: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """The seconds per phase of several pieces of work added together (e.g. all streams of a run)."""
    totals: dict[str, float] = {}
    for part in parts:
        for name, seconds in part.items():
            totals[name] = totals.get(name, 0.0) + seconds
    return totals
