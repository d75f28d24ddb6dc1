"""The ``anomaly`` command: thin argument parsing over the same functions users can import.

Errors meant for users (``AnomalyError``) become one line on stderr and a non-zero exit code:
1 when a run finished but some streams failed, 2 for configuration, data or database errors.
TensorFlow is only imported by the commands that need it, so ``anomaly --help`` is instant, and its
start-up log lines stay off the terminal unless ``-v`` is given (``anomaly.tensorflow_logs``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import timedelta
from pathlib import Path

from anomaly.config import DEFAULT_DB_URL, PipelineConfig, config_for_data, load_config
from anomaly.errors import AnomalyError, ConfigError
from anomaly.evaluation.command import add_evaluate_parser, run_evaluate
from anomaly.exit_codes import (
    EXIT_DELIVERY_FAILED,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STREAMS_FAILED,
)
from anomaly.tensorflow_logs import quiet_tensorflow

log = logging.getLogger("anomaly")


def _add_common_options(parser: argparse.ArgumentParser, *, with_config: bool = True) -> None:
    if with_config:
        parser.add_argument(
            "config", nargs="?", type=Path, help="pipeline TOML file (e.g. pipelines/sample.toml)"
        )
        parser.add_argument(
            "--data",
            type=Path,
            help="input data: a CSV/Parquet file (long or wide layout) or a directory of CSV files; "
            "overrides the config's source",
        )
        parser.add_argument("--models", type=Path, help="directory for model artifacts (default: models)")
    parser.add_argument(
        "--db", help=f"SQLAlchemy database URL (default: $ANOMALY_DB_URL, the config's, or {DEFAULT_DB_URL})"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging, and TensorFlow's start-up messages"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="anomaly", description="Time-series anomaly detection with per-stream LSTM autoencoders."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    descriptions = {
        "run": "train where needed, score all new data and store the results (one transaction per stream)",
        "train": "train a model for every stream that needs one (first half of 'run')",
        "score": "score new data with each stream's active model (second half of 'run')",
    }
    for name, description in descriptions.items():
        run_parser = commands.add_parser(name, help=description, description=description)
        _add_common_options(run_parser)
        run_parser.add_argument(
            "--metrics-file",
            type=Path,
            metavar="PATH",
            help="write the run's Prometheus metrics there, also when it fails (node-exporter textfile "
            "collector: a *.prom file in its directory; replaced atomically)",
        )

    schedule_description = (
        "run the pipeline now and then every INTERVAL at a fixed rate, until SIGTERM or Ctrl-C "
        "(which let the current run finish)"
    )
    schedule = commands.add_parser(
        "schedule", help="run the pipeline periodically", description=schedule_description
    )
    _add_common_options(schedule)
    schedule.add_argument(
        "--every",
        required=True,
        type=_interval_argument,
        metavar="INTERVAL",
        help="time between run starts: a number and a unit, e.g. 30s, 15m, 1h, 1d",
    )
    schedule.add_argument("--max-runs", type=int, metavar="N", help="stop after N runs (default: never)")
    schedule.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics of the latest run at /metrics",
    )
    schedule.add_argument(
        "--metrics-address", default="127.0.0.1", help="address to serve metrics on (default: 127.0.0.1)"
    )

    add_evaluate_parser(commands)

    database = commands.add_parser("db", help="database schema management")
    database_commands = database.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    upgrade = database_commands.add_parser(
        "upgrade", help="create or migrate the schema", description="create or migrate the schema (Alembic)"
    )
    _add_common_options(upgrade, with_config=False)

    alerts = commands.add_parser("alerts", help="alert notifications ([alerts] in the config)")
    alerts_commands = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ALERTS_COMMAND")
    alerts_test = alerts_commands.add_parser(
        "test",
        help="send a test message to every configured URL",
        description="send a test message to every URL of the config's [alerts] section and say, one "
        "line per URL, whether it was accepted; exit code 1 if any was not",
    )
    alerts_test.add_argument("config", nargs="?", type=Path, help="pipeline TOML file with [alerts]")
    alerts_test.add_argument("-v", "--verbose", action="store_true", help="debug logging")

    dashboard = commands.add_parser(
        "dashboard",
        help="start the Streamlit dashboard",
        description="start the Streamlit dashboard (read-only until an analyst signs in); with "
        "'hash-password', print a password hash for its sign-in instead",
    )
    _add_common_options(dashboard, with_config=False)
    dashboard.add_argument("--port", type=int, help="port to serve on (default: Streamlit's, 8501)")
    dashboard.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to bind to (default: 127.0.0.1, this machine only; see README, Access)",
    )
    dashboard_commands = dashboard.add_subparsers(dest="dashboard_command", metavar="DASHBOARD_COMMAND")
    dashboard_commands.add_parser(
        "hash-password",
        help="print a password hash for the dashboard's sign-in",
        description="read a password (asked twice on a terminal, else the first line of stdin) and print "
        "its hash, for ANOMALY_DASHBOARD_PASSWORD_HASH or a name:HASH entry of ANOMALY_DASHBOARD_USERS",
    )
    return parser


def _interval_argument(text: str) -> timedelta:
    from pipelines.schedule import parse_interval

    try:
        return parse_interval(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _database_url(flag: str | None, configured: str | None = None) -> str:
    """Flag, then ``ANOMALY_DB_URL``, then the config file, then the default."""
    return flag or os.environ.get("ANOMALY_DB_URL") or configured or DEFAULT_DB_URL


def _pipeline_config(args: argparse.Namespace) -> PipelineConfig:
    if args.config is None and args.data is None:
        raise ConfigError("give a pipeline config (e.g. pipelines/sample.toml) or --data PATH")
    config = load_config(args.config) if args.config is not None else config_for_data(args.data)
    configured_db = config.storage.db if args.config is not None else None
    return config.with_overrides(data=args.data, db=_database_url(args.db, configured_db), models=args.models)


def _run_pipeline(args: argparse.Namespace) -> int:
    from pipelines.metrics import execute_with_metrics, textfile_publisher
    from pipelines.stream_job import Command

    config = _pipeline_config(args)
    publish = textfile_publisher(args.metrics_file) if args.metrics_file else None
    summary = execute_with_metrics(config, Command(args.command), publish)
    for outcome in summary.outcomes:
        if outcome.error:
            print(f"FAILED  {outcome.name}: {outcome.error}")
        else:
            work = outcome.work
            trained = (
                f", trained v{work.trained_version} in {work.train_seconds:.1f} s"
                if work.trained_version
                else ""
            )
            print(
                f"ok      {outcome.name}: {work.counts.scores} rows scored, "
                f"{work.counts.anomalies} anomalies{trained}"
            )
    from anomaly.storage.database import describe_url

    print(
        f"run {summary.run_id} {summary.status}: {summary.n_anomalies} anomalies in "
        f"{len(summary.outcomes)} streams -> {describe_url(config.storage.db)} "
        "(look with 'anomaly dashboard' or SQL on the anomalies table)"
    )
    for name in summary.skipped:
        print(f"skipped {name}: another run is working on it")
    if summary.alerts is not None:
        print(summary.alerts.summary())
    if summary.failures:
        print(f"error: {len(summary.failures)} stream(s) failed; see above", file=sys.stderr)
        return EXIT_STREAMS_FAILED
    return EXIT_OK


def _schedule(args: argparse.Namespace) -> int:
    from pipelines.schedule import run_every

    config = _pipeline_config(args)
    if args.metrics_port is None:
        return run_every(config, args.every, max_runs=args.max_runs)
    from pipelines.metrics import MetricsEndpoint

    with MetricsEndpoint(args.metrics_address, args.metrics_port) as endpoint:
        return run_every(config, args.every, max_runs=args.max_runs, publish=endpoint.publish)


def _test_alerts(args: argparse.Namespace) -> int:
    from anomaly.alerts import send_trial

    if args.config is None:
        raise ConfigError("give the pipeline config whose [alerts] to test")
    config = load_config(args.config)
    if not config.alerts.enabled:
        raise ConfigError(f"{args.config}: no [alerts] urls configured, so there is nothing to test")
    results = send_trial(config.alerts.urls, pipeline=config.name, dashboard_url=config.alerts.dashboard_url)
    for result in results:
        print(f"ok      {result.url}" if result.ok else f"FAILED  {result.url}: {result.error}")
    return EXIT_OK if all(result.ok for result in results) else EXIT_DELIVERY_FAILED


def _upgrade_database(args: argparse.Namespace) -> int:
    from anomaly.storage.database import describe_url, open_engine, upgrade_schema

    url = _database_url(args.db)
    engine = open_engine(url)
    upgrade_schema(engine)
    engine.dispose()
    print(f"schema of {describe_url(url)} is up to date")
    return EXIT_OK


def _start_dashboard(args: argparse.Namespace) -> int:
    if args.dashboard_command == "hash-password":
        return _hash_password()
    from dashboard.launch import launch

    return launch(_database_url(args.db), args.port, args.address)


def _hash_password() -> int:
    from getpass import getpass

    from dashboard.passwords import hash_password

    if sys.stdin.isatty():
        password = getpass("Password: ")
        if getpass("Again: ") != password:
            raise ConfigError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    print(hash_password(password))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``anomaly`` command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if not args.verbose:
        quiet_tensorflow()
    handlers = {
        "run": _run_pipeline,
        "train": _run_pipeline,
        "score": _run_pipeline,
        "evaluate": run_evaluate,
        "schedule": _schedule,
        "alerts": _test_alerts,
    }
    try:
        if args.command == "db":
            return _upgrade_database(args)
        if args.command == "dashboard":
            return _start_dashboard(args)
        return handlers[args.command](args)
    except AnomalyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
