"""Running a pipeline over every stream of its source, one stream at a time.

One run = one ``runs`` row plus one transaction per stream. A stream that fails is logged and
recorded in the run's error; the other streams' results are kept. The run's status is ``failed``
when any stream failed, so schedulers and SQL alerting see it.

Runs may overlap (a slow run and the next scheduled one, or two hosts sharing a database): each
stream is worked on under its stream lock, and a stream another run holds is skipped, not waited
for, since the run holding it is doing that very work; the next run picks up whatever is left.
Before starting, a run marks as failed every earlier run whose process died while ``running``.
"""

from __future__ import annotations

import logging
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from anomaly.config import PipelineConfig
from anomaly.data import RawStream, load_source
from anomaly.errors import AnomalyError, DatabaseError
from anomaly.storage.database import open_engine, upgrade_schema
from anomaly.storage.repository import StreamState
from anomaly.timing import PhaseTimer, summed_phases
from pipelines.alerting import DeliveryReport, deliver_alerts
from pipelines.bookkeeping import finish_run, mark_abandoned_runs, started_run
from pipelines.executors import Executor, TaskFuture, open_executor
from pipelines.locks import locked, stream_lock_name, try_locked
from pipelines.progress import progress_over
from pipelines.read_plan import plan_reads
from pipelines.stream_job import Command, StreamWork, compute_stream, read_state, write_stream

log = logging.getLogger("anomaly")


@dataclass(frozen=True)
class StreamOutcome:
    """How one stream fared: its work when it succeeded, its error message when it failed."""

    name: str
    work: StreamWork | None
    error: str | None


@dataclass(frozen=True)
class RunSummary:
    """What a run did, for the CLI's report and for tests.

    ``outcomes`` holds the streams this run worked on; ``skipped`` names those it left alone because
    another run was working on them (not a failure). ``alerts`` tells how delivering the alert outbox
    went after the streams were committed (None when alerts are off). ``phases`` holds the seconds of
    the run's own phases (``load``: reading the source); ``phase_seconds`` adds the streams' to them.
    """

    run_id: int
    status: str
    outcomes: list[StreamOutcome]
    skipped: list[str] = field(default_factory=list)
    alerts: DeliveryReport | None = None
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def failures(self) -> list[StreamOutcome]:
        """The streams that failed."""
        return [outcome for outcome in self.outcomes if outcome.error is not None]

    @property
    def n_anomalies(self) -> int:
        """Anomaly events stored by this run."""
        return sum(o.work.counts.anomalies for o in self.outcomes if o.work)

    @property
    def n_windows(self) -> int:
        """Windows stored (with embeddings) by this run."""
        return sum(o.work.counts.windows for o in self.outcomes if o.work)

    @property
    def n_scores(self) -> int:
        """Rows (timestamps) scored by this run."""
        return sum(o.work.counts.scores for o in self.outcomes if o.work)

    @property
    def phase_seconds(self) -> dict[str, float]:
        """Seconds per phase over the whole run: its own phases and every successful stream's."""
        return summed_phases([self.phases, *(o.work.phases for o in self.outcomes if o.work)])


def execute(config: PipelineConfig, command: Command) -> RunSummary:
    """Carry out ``command`` for every stream of ``config.source`` and record the run."""
    engine = open_engine(config.storage.db)
    try:
        with locked(engine, "schema"):  # two runs on a new database would both create the tables
            upgrade_schema(engine)
        alerting = config.alerts.enabled
        mark_abandoned_runs(engine, queue_alerts=alerting)
        timer = PhaseTimer()
        with started_run(engine, command.value, config.recorded()) as run_id:
            try:
                outcomes, skipped = _process_all(engine, run_id, config, command, timer)
            except AnomalyError as exc:
                finish_run(
                    engine,
                    run_id,
                    status="failed",
                    n_streams=0,
                    n_windows=0,
                    n_anomalies=0,
                    error=str(exc),
                    queue_alert=alerting,
                )
                deliver_alerts(engine, config)
                raise
            failures = [o for o in outcomes if o.error is not None]
            summary = RunSummary(
                run_id=run_id,
                status="failed" if failures else "succeeded",
                outcomes=outcomes,
                skipped=skipped,
                phases=timer.seconds,
            )
            finish_run(
                engine,
                run_id,
                status=summary.status,
                n_streams=len(outcomes),
                n_windows=summary.n_windows,
                n_anomalies=summary.n_anomalies,
                error=_failure_message(failures, len(outcomes)) if failures else None,
                queue_alert=alerting,
            )
            # Only now, with every stream and the run row committed, are their alerts sent.
            return replace(summary, alerts=deliver_alerts(engine, config))
    finally:
        engine.dispose()


@dataclass
class _InFlight:
    """A stream handed to the executor: its lock (held until its rows are written), state and task."""

    name: str
    lock: ExitStack
    state: StreamState
    task: TaskFuture


def _process_all(
    engine: Engine, run_id: int, config: PipelineConfig, command: Command, timer: PhaseTimer
) -> tuple[list[StreamOutcome], list[str]]:
    """The outcome of every stream this run worked on, and the names of those it skipped; reading
    the source is timed as ``timer``'s phase ``load``.

    Streams go to the executor in name order, at most ``parallelism`` ahead of the writing, and
    their results are written in that same order, each under the stream's lock.
    """
    with timer.phase("load"):
        # Streams whose model only scores are read from a little before their new rows on.
        loaded = load_source(config.source, plan_reads(engine, config, command, datetime.now(UTC)))
    outcomes = [StreamOutcome(name, None, str(error)) for name, error in loaded.failures.items()]
    for name, error in loaded.failures.items():
        log.error("%s: %s", name, error)
    skipped = []
    in_flight: deque[_InFlight] = deque()
    with (
        open_executor(config.executor) as executor,
        progress_over(loaded.streams, command.value, lambda raw: raw.name) as streams,
    ):
        try:
            for raw in streams:
                submitted = _submit(engine, executor, raw, config, command)
                if submitted is None:
                    skipped.append(raw.name)
                    continue
                in_flight.append(submitted)
                while len(in_flight) > executor.parallelism:
                    outcomes.append(_finish(engine, run_id, in_flight.popleft(), config))
            while in_flight:
                outcomes.append(_finish(engine, run_id, in_flight.popleft(), config))
        finally:
            for leftover in in_flight:  # only after an interruption: release the streams
                leftover.lock.close()
    return sorted(outcomes, key=lambda outcome: outcome.name), sorted(skipped)


def _submit(
    engine: Engine, executor: Executor, raw: RawStream, config: PipelineConfig, command: Command
) -> _InFlight | None:
    """Lock the stream and hand its computation to the executor; None when another run holds it."""
    lock = ExitStack()
    if not lock.enter_context(try_locked(engine, stream_lock_name(raw.name))):
        lock.close()
        log.warning("%s: skipped: another run is working on it", raw.name)
        return None
    try:
        state = read_state(engine, raw.name)
    except BaseException:
        lock.close()
        raise
    return _InFlight(raw.name, lock, state, executor.submit(compute_stream, raw, state, config, command))


def _finish(engine: Engine, run_id: int, job: _InFlight, config: PipelineConfig) -> StreamOutcome:
    """Wait for a stream's computation and write it, queueing its alerts (if ``config`` has them for
    this stream) with it; any failure becomes the stream's outcome."""
    alerts = config.alerts
    min_severity = alerts.min_severity if alerts.covers(job.name) else None
    with job.lock:
        try:
            work = write_stream(engine, run_id, job.state, job.task.result(), alert_min_severity=min_severity)
            return StreamOutcome(job.name, work, None)
        except AnomalyError as exc:
            message = str(exc)
        except SQLAlchemyError as exc:
            message = str(
                DatabaseError(
                    f"writing stream {job.name!r} failed, nothing of it was stored: {exc.orig or exc}"
                )
            )
        except Exception as exc:  # a bug must not cost the other streams their results
            log.debug("stream %s failed", job.name, exc_info=True)
            message = f"stream {job.name!r}: unexpected {type(exc).__name__}: {exc}"
    log.error("%s", message)
    return StreamOutcome(job.name, None, message)


def _failure_message(failures: list[StreamOutcome], n_streams: int) -> str:
    details = "; ".join(f.error for f in failures)
    return f"{len(failures)} of {n_streams} streams failed: {details}"
