"""A scheduled run that finds nothing new for any stream loads no model and never imports TensorFlow:
its cost is reading the source and the database, not TensorFlow's start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, sensor_frame, write_long_csv

RUN_AND_REPORT = """
import json, sys
from anomaly.cli import main
code = main(sys.argv[1:])
print(json.dumps({"exit": code, "tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules}))
"""


def _run(config: Path) -> dict:
    """``anomaly run CONFIG`` in a fresh interpreter: its exit code and whether it imported TensorFlow."""
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


def test_a_run_with_nothing_new_does_not_import_tensorflow(tmp_path):
    write_long_csv(
        tmp_path / "sensors.csv", [sensor_frame("a", n=200, seed=1), sensor_frame("b", n=200, seed=2)]
    )
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

    first = _run(config)
    again = _run(config)

    assert first == {"exit": 0, "tensorflow": True, "keras": True}  # the first run trained both models
    assert again == {"exit": 0, "tensorflow": False, "keras": False}
