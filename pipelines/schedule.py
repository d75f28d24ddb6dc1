"""The built-in scheduler: ``anomaly schedule CONFIG --every 15m`` runs the pipeline at a fixed rate.

For hosts without cron, a systemd timer or Airflow. Runs start on fixed slots (first start + k *
interval), so run durations never push later runs back. A run that lasts longer than the interval is
followed at once by the next one, and the slots it ran over are dropped, not caught up in a burst.
SIGTERM or SIGINT lets the current run finish (its streams are committed one by one anyway) and then
stops; a second SIGINT interrupts at once. Runs that overlap anyway (another scheduler, a manual run)
are kept apart by the stream locks of ``pipelines.runner``.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING

from anomaly.config import PipelineConfig
from anomaly.errors import AnomalyError, ConfigError
from anomaly.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_STREAMS_FAILED

if TYPE_CHECKING:
    from pipelines.metrics import Publish

log = logging.getLogger("anomaly")

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LONGEST_NAP_SECONDS = 1.0  # how late a stop request during the wait between runs may be noticed
_INTERVAL = re.compile(r"(\d+(?:\.\d*)?)\s*([smhd])")


def parse_interval(text: str) -> timedelta:
    """``"30s"``, ``"15m"``, ``"1h"``, ``"1d"`` (decimals allowed, e.g. ``"1.5h"``) as a timedelta."""
    match = _INTERVAL.fullmatch(text.strip().lower())
    if match is None or float(match[1]) == 0:
        raise ConfigError(
            f"invalid interval {text!r}: give a positive number and a unit (s, m, h or d), e.g. 30s, 15m, 1h"
        )
    return timedelta(seconds=float(match[1]) * UNIT_SECONDS[match[2]])


def run_every(
    config: PipelineConfig,
    interval: timedelta,
    *,
    max_runs: int | None = None,
    publish: Publish | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Run ``config``'s pipeline now and then every ``interval`` until stopped or ``max_runs`` runs.

    Returns the exit code of the last run: 0 succeeded, 1 some streams failed, 2 the run could not
    be done (configuration, data or database error). ``publish`` gets each run's Prometheus metrics
    (``pipelines.metrics``). ``sleep`` and ``clock`` (seconds) are for tests.
    """
    if interval <= timedelta(0):
        raise ConfigError(f"the interval must be positive, not {interval}")
    if max_runs is not None and max_runs < 1:
        raise ConfigError(f"max_runs must be at least 1, not {max_runs}")
    period = interval.total_seconds()
    exit_code = EXIT_OK
    with _stop_on_signals() as stop:
        first_start = clock()
        slot = 0
        runs = 0
        while not stop.requested:
            exit_code = _run_once(config, publish)
            runs += 1
            if stop.requested or (max_runs is not None and runs >= max_runs):
                break
            now = clock()
            next_start = first_start + (slot + 1) * period
            if now < next_start:
                slot += 1
                log.info("next run in %s", _duration(next_start - now))
                _sleep_until(next_start, stop, sleep, clock)
                continue
            late_slot = int((now - first_start) // period)
            log.warning(
                "the run took %s, longer than the interval of %s: starting the next run now%s",
                _duration(now - first_start - slot * period),
                _duration(period),
                f" ({late_slot - slot - 1} slot(s) dropped)" if late_slot - slot > 1 else "",
            )
            slot = late_slot
    return exit_code


def _run_once(config: PipelineConfig, publish: Publish | None) -> int:
    """One run, logged in one line; a run that cannot be done is logged and the schedule goes on."""
    from pipelines.metrics import execute_with_metrics
    from pipelines.stream_job import Command

    try:
        summary = execute_with_metrics(config, Command.RUN, publish)
    except AnomalyError as exc:
        log.error("run failed: %s", exc)
        return EXIT_ERROR
    log.info(
        "run %d %s: %d streams, %d failed, %d skipped (another run had them), %d anomalies",
        summary.run_id,
        summary.status,
        len(summary.outcomes),
        len(summary.failures),
        len(summary.skipped),
        summary.n_anomalies,
    )
    return EXIT_STREAMS_FAILED if summary.failures else EXIT_OK


class _StopRequest:
    """A signal handler that asks the loop to stop after the current run."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("%s received: stopping after the current run", signal.Signals(signum).name)


@contextmanager
def _stop_on_signals() -> Iterator[_StopRequest]:
    """Route SIGTERM and SIGINT to a stop request for the block (signals only reach the main thread)."""
    stop = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _sleep_until(
    deadline: float, stop: _StopRequest, sleep: Callable[[float], None], clock: Callable[[], float]
) -> None:
    """Nap until ``deadline``, in short naps: ``time.sleep`` resumes after a signal handler returns."""
    while not stop.requested and (remaining := deadline - clock()) > 0:
        sleep(min(remaining, LONGEST_NAP_SECONDS))


def _duration(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))
