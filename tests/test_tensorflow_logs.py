"""TensorFlow's start-up lines stay off the terminal unless ``-v``, and nothing else is swallowed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from anomaly.tensorflow_logs import is_chatter
from tests.conftest import ROOT, sensor_frame, write_long_csv

ONEDNN = (
    "I0000 00:00:1796195981.460280   11110 port.cc:153] oneDNN custom operations are on. You may see "
    "slightly different numerical results due to floating-point round-off errors."
)
FAKE_TENSORFLOW = f"""
import os, sys, warnings
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n")
os.write(2, b"{ONEDNN}\\n")
os.write(2, b"2024-05-01 12:00:00.000000: I tensorflow/core/util/port.cc:113] oneDNN custom operations\\n")
os.write(2, b"E0000 00:00:1.2   7 cuda_dnn.cc:8310] Unable to register cuDNN factory\\n")
os.write(2, b"F0000 00:00:1.3   7 fatal.cc:1] a fatal line is kept\\n")
print("a Python message is kept", file=sys.stderr)
"""


def _environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}


@pytest.mark.parametrize(
    ("line", "chatter"),
    [
        (ONEDNN, True),
        ("W0000 00:00:1.5   42 cpu_feature_guard.cc:227] This TensorFlow binary is optimized", True),
        ("To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow", True),
        ("F0000 00:00:1.3   7 fatal.cc:1] Check failed", False),
        ("2026-12-02 07:29:36,364 INFO train 1/1: s", False),
        ("error: the database is locked", False),
    ],
)
def test_start_up_lines_are_told_from_messages(line: str, chatter: bool) -> None:
    assert is_chatter(line) is chatter


def test_the_first_import_drops_only_the_start_up_lines(tmp_path: Path) -> None:
    """A stand-in ``tensorflow`` that writes to descriptor 2 as TensorFlow's C++ core does."""
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text(FAKE_TENSORFLOW)
    code = (
        "import os; from anomaly.tensorflow_logs import quiet_tensorflow; quiet_tensorflow(); import "
        "tensorflow; print(os.environ['TF_CPP_MIN_LOG_LEVEL'], tensorflow.__loader__.__class__.__name__)"
    )
    environment = {**_environment(), "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True
    )
    assert result.stderr.splitlines() == [
        "F0000 00:00:1.3   7 fatal.cc:1] a fatal line is kept",
        "a Python message is kept",
    ]
    assert result.stdout.split() == ["2", "SourceFileLoader"]


def test_a_command_that_trains_prints_no_tensorflow_start_up_lines_unless_verbose(tmp_path: Path) -> None:
    loud = subprocess.run(
        [sys.executable, "-c", "import tensorflow"], capture_output=True, text=True, env=_environment()
    )
    if not any(is_chatter(line) for line in loud.stderr.splitlines()):
        pytest.skip("this TensorFlow build prints no start-up lines here, so there is nothing to hide")
    data = write_long_csv(tmp_path / "s.csv", [sensor_frame("s", n=240)])
    config = tmp_path / "tiny.toml"
    config.write_text(
        f'[source]\npath = "{data}"\n[window]\nlength = 16\ntrain_stride = 4\n'
        "[model]\nunits = 4\nepochs = 1\n"
    )
    command = [
        sys.executable,
        "-m",
        "anomaly.cli",
        "train",
        str(config),
        "--db",
        f"sqlite:///{tmp_path / 'a.db'}",
        "--models",
        str(tmp_path / "models"),
    ]
    quiet = subprocess.run(command, capture_output=True, text=True, env=_environment(), cwd=ROOT)
    assert quiet.returncode == 0, quiet.stderr
    assert "trained v1" in quiet.stdout
    assert not [line for line in quiet.stderr.splitlines() if is_chatter(line)]
    assert "oneDNN" not in quiet.stderr and "absl" not in quiet.stderr
