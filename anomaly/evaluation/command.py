"""The ``anomaly evaluate`` subcommand; ``anomaly/cli.py`` registers it and dispatches to it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from anomaly.config import PipelineConfig, config_for_data, load_config
from anomaly.exit_codes import EXIT_OK, EXIT_STREAMS_FAILED


def add_evaluate_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``evaluate`` to the ``anomaly`` subcommands."""
    description = (
        "run the detector over labelled data (a directory of CSV files) and report event precision/"
        "recall/F1, the NAB score and PR-AUC"
    )
    parser = subparsers.add_parser("evaluate", help=description, description=description)
    parser.add_argument(
        "config", nargs="?", type=Path, help="pipeline TOML whose model settings to use (default: defaults)"
    )
    parser.add_argument("--data", type=Path, required=True, help="directory of CSV files (timestamp,value)")
    parser.add_argument(
        "--labels", type=Path, required=True, help="anomaly windows in NAB's combined_windows.json format"
    )
    parser.add_argument(
        "--protocol",
        choices=["offline", "streaming"],
        default="offline",
        help="offline: fit on each whole series; streaming: NAB's rules, fit on the first min(15%%, 750) "
        "rows and never look ahead (default: offline)",
    )
    parser.add_argument("--out", type=Path, help="write OUT/<file> with per-row scores, decisions and labels")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate, print the report; exit 1 when some stream could not be evaluated."""
    from anomaly.evaluation.runner import evaluate

    config: PipelineConfig = load_config(args.config) if args.config else config_for_data(args.data)
    report = evaluate(args.data, args.labels, args.protocol, config, args.out)
    print(report.to_json() if args.json else report.to_text())
    failed = report.failures or any(file.error for file in report.files)
    if failed:
        print("error: some streams could not be evaluated; see the report", file=sys.stderr)
    return EXIT_STREAMS_FAILED if failed else EXIT_OK
