"""Prometheus metrics of each run: a node-exporter textfile for cron, an HTTP endpoint for the scheduler.

Every run leaves one snapshot of gauges about itself, built in a ``CollectorRegistry`` of its own
(never the client's global one), so repeated runs in one process and tests never see each other's
values. Each series carries the ``pipeline`` label (the config's ``name``); only the two per-stream
gauges also carry ``stream``, one series per stream of the source, so cardinality grows with streams.

The per-stream "last success" comes from the database when the snapshot is built, so it is right for
the streams this run skipped too: a stream last succeeded when this run did it, or else when the run
that stored its newest score ended (``streams.last_scored_ts`` -> ``scores.run_id`` -> ``runs``).
A stream that never succeeded has timestamp 0 and an age of +Inf, so that staleness alerts fire.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType

from prometheus_client import CollectorRegistry, Gauge, start_http_server, write_to_textfile
from prometheus_client.metrics_core import Metric
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError

from anomaly.config import PipelineConfig
from anomaly.errors import AnomalyError, ConfigError, DatabaseError
from anomaly.storage.database import error_reason, open_engine
from anomaly.storage.schema import Anomaly, Run, Score, Stream
from pipelines import runner
from pipelines.runner import RunSummary
from pipelines.stream_job import Command

log = logging.getLogger("anomaly")

SEVERITY_CUTOFFS = (2.0, 5.0)
"""Lowest severity (peak error / threshold, always above 1) of the ``medium`` and ``high`` bands."""
SEVERITY_BANDS = ("low", "medium", "high")

Publish = Callable[[CollectorRegistry], None]
"""Where a run's metrics go: a textfile writer or ``MetricsEndpoint.publish``."""


def severity_band(severity: float) -> str:
    """``low`` below 2, ``medium`` from 2 to below 5, ``high`` from 5 (``SEVERITY_CUTOFFS``)."""
    return SEVERITY_BANDS[bisect.bisect_right(SEVERITY_CUTOFFS, severity)]


def execute_with_metrics(config: PipelineConfig, command: Command, publish: Publish | None) -> RunSummary:
    """``execute`` the run, then hand its metrics to ``publish``, also when the run raised.

    A run that could not be done at all still publishes ``anomaly_last_run_success 0`` with its time
    and duration before its error goes on; a publishing failure then is logged and does not hide it.
    """
    started = time.monotonic()
    try:
        summary = runner.execute(config, command)
    except Exception:
        if publish is not None:
            failed = run_metrics(config, None, duration_seconds=time.monotonic() - started)
            try:
                publish(failed)
            except AnomalyError as exc:
                log.error("%s", exc)
        raise
    if publish is not None:
        publish(run_metrics(config, summary, duration_seconds=time.monotonic() - started))
    return summary


def run_metrics(
    config: PipelineConfig, summary: RunSummary | None, *, duration_seconds: float
) -> CollectorRegistry:
    """The snapshot of one run: ``summary`` is None for a run that could not be done (exit code 2),
    which leaves only the run-level gauges (success 0, timestamp, duration)."""
    registry = CollectorRegistry()
    pipeline = config.name

    def single(name: str, documentation: str, value: float) -> None:
        Gauge(name, documentation, ["pipeline"], registry=registry).labels(pipeline).set(value)

    def by_label(name: str, documentation: str, label: str, values: Mapping[str, float]) -> None:
        gauge = Gauge(name, documentation, ["pipeline", label], registry=registry)
        for key, value in values.items():
            gauge.labels(pipeline, key).set(value)

    succeeded = summary is not None and summary.status == "succeeded"
    single("anomaly_last_run_success", "1 if the latest run succeeded, 0 if it or a stream failed", succeeded)
    single("anomaly_last_run_timestamp_seconds", "When the latest run ended (Unix time)", time.time())
    single("anomaly_last_run_duration_seconds", "How long the latest run took", duration_seconds)
    if summary is None:
        return registry
    failed = len(summary.failures)
    outcomes = {
        "succeeded": len(summary.outcomes) - failed,
        "failed": failed,
        "skipped": len(summary.skipped),
    }
    by_label("anomaly_last_run_streams", "Streams of the latest run by outcome", "outcome", outcomes)
    single("anomaly_last_run_scored_rows", "Rows (timestamps) the latest run scored", summary.n_scores)
    try:
        severities, last_success = _read_run_records(config.storage.db, summary)
    except DatabaseError as exc:
        log.warning("metrics: the database figures are left out: %s", exc)
        return registry

    bands = [severity_band(severity) for severity in severities]
    by_label(
        "anomaly_last_run_anomalies",
        "Anomaly events the latest run stored, by severity band",
        "severity",
        {band: bands.count(band) for band in SEVERITY_BANDS},
    )
    now = time.time()
    streams = sorted(last_success)
    by_label(
        "anomaly_stream_last_success_timestamp_seconds",
        "When a run last succeeded for the stream (Unix time; 0: never)",
        "stream",
        {name: 0.0 if last_success[name] is None else last_success[name] for name in streams},
    )
    by_label(
        "anomaly_stream_seconds_since_last_success",
        "Seconds from the stream's last successful run to when these metrics were written (+Inf: never)",
        "stream",
        {
            name: math.inf if (when := last_success[name]) is None else max(now - when, 0.0)
            for name in streams
        },
    )
    return registry


def _read_run_records(url: str, summary: RunSummary) -> tuple[list[float], dict[str, float | None]]:
    """The severities of the anomalies ``summary``'s run stored, and when each of its streams (worked
    on or skipped) last succeeded, in Unix seconds (None: never)."""
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            severities = connection.scalars(
                select(Anomaly.severity).where(Anomaly.run_id == summary.run_id)
            ).all()
            run_ended = connection.scalar(select(Run.finished_at).where(Run.id == summary.run_id))
            last_scored = _newest_score_run_ends(connection)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"could not read the run's records: {error_reason(exc)}") from None
    finally:
        engine.dispose()
    done_now = {o.name for o in summary.outcomes if o.error is None}
    last_success = {}
    for name in [o.name for o in summary.outcomes] + summary.skipped:
        when = run_ended if name in done_now else last_scored.get(name)
        last_success[name] = None if when is None else when.timestamp()
    return list(severities), last_success


def _newest_score_run_ends(connection: Connection) -> dict[str, datetime]:
    """Stream name -> when the run that stored its newest score ended (its start while it runs on).

    One primary-key lookup per stream: the newest score is the one at the stream's watermark.
    """
    ended = func.max(func.coalesce(Run.finished_at, Run.started_at))
    rows = connection.execute(
        select(Stream.name, ended)
        .join(Score, (Score.stream_id == Stream.id) & (Score.ts == Stream.last_scored_ts))
        .join(Run, Run.id == Score.run_id)
        .group_by(Stream.name)
    )
    return dict(rows.tuples().all())


def textfile_publisher(path: Path) -> Publish:
    """Writes each snapshot to ``path`` for node-exporter's textfile collector (name it ``*.prom``).

    ``write_to_textfile`` writes a temporary file beside ``path`` and renames it over ``path``, so the
    collector never reads half a file. The folder is checked here, before the run spends its time.
    """
    folder = path.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise ConfigError(f"cannot write the metrics file {path}: {folder} is not a writable folder")

    def publish(registry: CollectorRegistry) -> None:
        try:
            write_to_textfile(str(path), registry)
        except OSError as exc:
            raise ConfigError(f"cannot write the metrics file {path}: {exc.strerror or exc}") from None

    return publish


class MetricsEndpoint:
    """``/metrics`` over HTTP for ``anomaly schedule``, serving the latest published run's snapshot.

    The server runs in a daemon thread of ``prometheus_client``; ``publish`` swaps the snapshot in
    one assignment, so a scrape sees either the previous run or the new one, never a mix. Before the
    first run ends it serves nothing.
    """

    def __init__(self, address: str, port: int) -> None:
        self._latest = CollectorRegistry()
        served = CollectorRegistry(support_collectors_without_names=True)
        served.register(self)
        try:
            self._server, self._thread = start_http_server(port, addr=address, registry=served)
        except (OSError, OverflowError) as exc:
            raise ConfigError(f"cannot serve metrics on {address}:{port}: {exc}") from None
        log.info("serving metrics at http://%s:%d/metrics", address, self.port)

    @property
    def port(self) -> int:
        """The port served (the one the system chose when 0 was asked for)."""
        return self._server.server_port

    def publish(self, registry: CollectorRegistry) -> None:
        """Serve ``registry`` from now on."""
        self._latest = registry

    def collect(self) -> Iterable[Metric]:
        """The latest snapshot's metrics: what makes the endpoint a collector of the served registry."""
        return self._latest.collect()

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> MetricsEndpoint:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
