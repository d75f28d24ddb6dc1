"""Smoke test of the fleet benchmark: ``benchmarks/fleet.py --quick`` runs a tiny fleet through every
step (cold, I/O floor, scheduled, nothing new) and ends with one JSON line of its figures. No timing
is asserted (CI machines are too noisy), only that every figure is there, finite and positive, and
that the steps did what they are named after."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEADLINE = (
    "cold_minutes_1000",
    "cold_minutes_1000_at_120gflops",
    "cold_linearity",
    "scheduled_over_floor",
    "measured_gflops",
    "scheduled_seconds",
    "floor_seconds",
    "nothing_new_seconds",
)
STEPS = ("cold", "floor", "scheduled", "nothing_new")
PHASES = ("load", "prepare", "model_load", "train", "save", "score", "embed", "write", "other")


@pytest.fixture(scope="module")
def figures() -> dict:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "fleet.py"), "--quick"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


@pytest.mark.slow
def test_headline_figures_are_positive_and_finite(figures):
    for key in HEADLINE:
        assert _positive(figures[key]), (key, figures[key])
    assert figures["sizes"] == [3]
    assert list(figures["peak_rss_mb"]) == ["3"] and _positive(figures["peak_rss_mb"]["3"])
    assert 0 <= figures["event_f1"] <= 1
    assert figures["nothing_new_imports_tensorflow"] in (True, False)


@pytest.mark.slow
def test_each_step_did_its_work(figures):
    (fleet,) = figures["fleets"]
    assert fleet["n"] == 3 and fleet["input_rows"] > 0 and fleet["new_rows"] == 3 * 6
    cold, floor, scheduled, idle = (fleet[step] for step in STEPS)
    assert cold["trained"] == 3 and cold["scores"] > 0
    assert cold["phases_per_stream"]["train"] > 0 and cold["phases_per_stream"]["model_load"] == 0
    # The scheduled run scores exactly the appended rows, as the floor writes them, with no training.
    assert scheduled["trained"] == 0 and scheduled["scores"] == floor["scores"] == fleet["new_rows"]
    assert fleet["scheduled_scores_equal_floor"] is True
    assert idle["scores"] == 0 and idle["trained"] == 0
    assert floor["tensorflow_imported"] is False
    for step in STEPS:
        figures_of_step = fleet[step]
        assert set(figures_of_step["phases_per_stream"]) == set(PHASES)
        assert all(math.isfinite(v) and v >= 0 for v in figures_of_step["phases_per_stream"].values())
        for key in ("seconds", "process_seconds", "seconds_per_stream", "peak_rss_mb"):
            assert _positive(figures_of_step[key]), (step, key, figures_of_step[key])
        assert figures_of_step["process_seconds"] >= figures_of_step["seconds"]
