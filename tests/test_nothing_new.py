"""Scheduled runs never import TensorFlow unless they train: one that finds nothing new loads no
model, and one that scores new rows reads the weights with h5py and runs the NumPy forward pass
(``anomaly.model.inference``), so its cost is reading, scoring and writing, not TensorFlow's start-up.
Nor do they import scikit-learn or SciPy, which only training uses (1.4 s and 0.9 s of imports: half
of a 20-stream scheduled run's time before they were kept out)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, sensor_frame, write_long_csv

RUN_AND_REPORT = """
import json, sys
from anomaly.cli import main
code = main(sys.argv[1:])
imported = {name: name in sys.modules for name in ("tensorflow", "keras", "sklearn", "scipy")}
print(json.dumps({"exit": code, **imported}))
"""


def _run(config: Path) -> dict:
    """``anomaly run CONFIG`` in a fresh interpreter: its exit code and whether it imported TensorFlow,
    Keras, scikit-learn and SciPy."""
    result = subprocess.run(
        [sys.executable, "-c", RUN_AND_REPORT, "run", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _write_sensors(tmp_path: Path, n: int) -> None:
    """Two streams of ``n`` rows; a larger ``n`` appends rows to the same series (same seeds)."""
    write_long_csv(tmp_path / "sensors.csv", [sensor_frame("a", n=n, seed=1), sensor_frame("b", n=n, seed=2)])


def _write_config(tmp_path: Path) -> Path:
    config = tmp_path / "pipeline.toml"
    config.write_text(
        f"""
[source]
path = "sensors.csv"

[window]
length = 8

[model]
units = 4
epochs = 1
batch_size = 32

[storage]
db = "sqlite:///{tmp_path / "anomaly.db"}"
models = "{tmp_path / "models"}"
""",
        encoding="utf-8",
    )
    return config


def test_a_run_with_nothing_new_does_not_import_tensorflow(tmp_path):
    _write_sensors(tmp_path, 200)
    config = _write_config(tmp_path)

    first = _run(config)
    again = _run(config)

    # The first run trained both models.
    assert first == {"exit": 0, "tensorflow": True, "keras": True, "sklearn": True, "scipy": True}
    assert again == {"exit": 0, "tensorflow": False, "keras": False, "sklearn": False, "scipy": False}


def test_a_run_scoring_new_rows_does_not_import_tensorflow(tmp_path):
    _write_sensors(tmp_path, 200)
    config = _write_config(tmp_path)
    first = _run(config)
    with sqlite3.connect(tmp_path / "anomaly.db") as db:
        scores_before = db.execute("SELECT count(*) FROM scores").fetchone()[0]
        models_before = db.execute("SELECT count(*) FROM models").fetchone()[0]

    _write_sensors(tmp_path, 212)  # two hours of new rows for each stream
    scheduled = _run(config)

    with sqlite3.connect(tmp_path / "anomaly.db") as db:
        scores_after = db.execute("SELECT count(*) FROM scores").fetchone()[0]
        models_after = db.execute("SELECT count(*) FROM models").fetchone()[0]
    assert first["tensorflow"] is True
    assert scheduled == {"exit": 0, "tensorflow": False, "keras": False, "sklearn": False, "scipy": False}
    assert models_after == models_before  # scored with the stored models, none retrained
    assert scores_after == scores_before + 2 * 12
