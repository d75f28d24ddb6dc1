"""``anomaly evaluate`` through its parser, with a pipeline TOML for the model settings."""

import argparse
import json

import numpy as np
import pandas as pd

from anomaly.evaluation.command import add_evaluate_parser, run_evaluate

TINY_TOML = """
[source]
path = "unused"
[window]
length = 16
[model]
units = 8
epochs = 2
patience = 1
"""


def _parse(argv):
    parser = argparse.ArgumentParser(prog="anomaly")
    add_evaluate_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_evaluate_command_prints_json_and_writes_rows(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    stamps = pd.date_range("2026-01-01", periods=200, freq="5min").strftime("%Y-%m-%d %H:%M:%S")
    values = np.sin(np.arange(200) / 5)
    pd.DataFrame({"timestamp": stamps, "value": values}).to_csv(data / "s.csv", index=False)
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"s.csv": [[stamps[150], stamps[160]]]}))
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_TOML)

    args = _parse(
        [
            "evaluate",
            str(config),
            "--data",
            str(data),
            "--labels",
            str(labels),
            "--out",
            str(tmp_path / "o"),
            "--json",
        ]
    )
    assert run_evaluate(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["protocol"] == "offline" and report["files"][0]["name"] == "s.csv"
    assert len(pd.read_csv(tmp_path / "o" / "s.csv")) == 200


def test_missing_labelled_stream_exits_1(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"gone.csv": []}))
    (data / "empty.csv").write_text("timestamp,value\n")
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_TOML)
    assert run_evaluate(_parse(["evaluate", str(config), "--data", str(data), "--labels", str(labels)])) == 1
    captured = capsys.readouterr()
    assert "gone.csv: labelled but not in the data" in captured.out
    assert "empty.csv" in captured.out and "error:" in captured.err
