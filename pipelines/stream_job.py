"""What one run does to one stream: prepare, train or load its model, score new rows, write.

All of a stream's rows are written in one transaction after the work is done, so a failure at any
point leaves the database exactly as it was for that stream (and a freshly saved model artifact is
removed again).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Engine

from anomaly.config import PipelineConfig
from anomaly.data import RawStream, prepare_stream
from anomaly.data.sources import load_stream
from anomaly.data.types import PreparedStream
from anomaly.errors import DataError, ModelError
from anomaly.storage.repository import StreamState, stream_state, with_open_event
from anomaly.storage.writer import NewModel, WrittenCounts, write_stream_results
from anomaly.timing import PhaseTimer
from pipelines.artifacts import artifact_dir

if TYPE_CHECKING:
    from anomaly.detectors import Detector
    from anomaly.results import OpenEvent, StreamAnalysis

log = logging.getLogger("anomaly")


class Command(StrEnum):
    """The three things a run can do; ``run`` is ``train`` (where needed) then ``score``."""

    RUN = "run"
    TRAIN = "train"
    SCORE = "score"


@dataclass(frozen=True)
class StreamWork:
    """The result of one stream's job, for the run summary. ``phases`` holds the seconds each phase
    the stream went through took: ``prepare``, ``model_load``, ``train``, ``save`` (the artifact),
    ``score``, ``embed`` (``anomaly.analysis``) and ``write`` (its transaction)."""

    name: str
    counts: WrittenCounts
    trained_version: int | None
    phases: dict[str, float]

    @property
    def train_seconds(self) -> float:
        """Seconds spent training the stream's new model version (0 when none was trained)."""
        return self.phases.get("train", 0.0)


@dataclass(frozen=True)
class StreamComputation:
    """What a worker computed for one stream, for the runner to write: the prepared series, the new
    model version (its artifact already saved) if one was trained, and the analysis of new rows."""

    stream: PreparedStream
    new_model: NewModel | None
    analysis: StreamAnalysis | None
    phases: dict[str, float]


def compute_stream(
    raw: RawStream, state: StreamState, config: PipelineConfig, command: Command
) -> StreamComputation:
    """The database-free part of a stream's job, run by an executor's worker: prepare the rows,
    train a model where needed (saving its artifact) or load the active one, and analyse new rows."""
    from anomaly.data.labels import labels_for_threshold
    from anomaly.detectors import detector_for, load_detector
    from anomaly.retrain import drift_sample, retrain_reason, rows_in_spans

    timer = PhaseTimer()
    with timer.phase("prepare"):
        raw, stream = _prepared(raw, state, config)
    log.info("%s: %s", stream.name, stream.report.summary())
    first_row = _first_unscored_row(stream, state)
    now = datetime.now(UTC)
    reason = None
    if command is not Command.SCORE:
        reason = retrain_reason(state.active_model, stream, None, config.retrain, now)

    detector, analysis = None, None
    if reason is None and command is not Command.TRAIN:
        if state.active_model is None:
            raise ModelError(
                f"stream {stream.name!r} has no trained model yet: run 'anomaly train' or 'anomaly run'"
            )
        if first_row < len(stream.values):  # with nothing new, no model is loaded (nor TensorFlow)
            with timer.phase("model_load"):
                detector = load_detector(Path(state.active_model.artifact))
            if not _read_enough(raw, stream, state, detector, config, command):
                raw, stream, first_row = _reread_whole(raw.name, state, config, timer)
            analysis = _analyse(detector, stream, first_row, config, timer, state.open_event)
            if command is Command.RUN and config.retrain.drift:
                reason = retrain_reason(
                    state.active_model, stream, drift_sample(analysis), config.retrain, now
                )

    new_model = None
    if reason is not None:
        log.info("%s: training a new model version: %s", stream.name, reason)
        if raw.since is not None:  # training learns from the whole history
            raw, stream, first_row = _reread_whole(raw.name, state, config, timer)
        with timer.phase("train"):
            detector = detector_for(config).fit(
                stream,
                exclude_rows=rows_in_spans(stream.values.index, state.confirmed_spans),
                labels=labels_for_threshold(config.threshold, stream.name),
            )
        with timer.phase("save"):
            new_model = _save_new_model(detector, stream, state, config)
        log.info(
            "%s: trained model v%d in %.1f s (%s)",
            stream.name,
            new_model.version,
            timer.seconds["train"],
            detector.training_summary(),
        )
        if command is not Command.TRAIN:
            # The new rows are scored by the version that is active from now on, which judges afresh.
            analysis = _analyse(detector, stream, first_row, config, timer, None)
    return StreamComputation(stream=stream, new_model=new_model, analysis=analysis, phases=timer.seconds)


def read_state(engine: Engine, name: str) -> StreamState:
    """What the database knows of stream ``name`` (watermark, active model, the anomaly its new rows
    may continue), for ``compute_stream``."""
    with engine.connect() as connection:
        return with_open_event(connection, stream_state(connection, name))


def write_stream(
    engine: Engine,
    run_id: int,
    state: StreamState,
    computation: StreamComputation,
    alert_min_severity: float | None = None,
) -> StreamWork:
    """Commit a stream's computed results in one transaction; on failure nothing of it stays, not
    even the artifact of the model trained for it. With ``alert_min_severity``, its new events at
    least that severe are queued for notification in that transaction."""
    new_model = computation.new_model
    timer = PhaseTimer()
    try:
        with timer.phase("write"), engine.begin() as connection:
            counts = write_stream_results(
                connection,
                run_id=run_id,
                stream=computation.stream,
                new_model=new_model,
                active_model_id=state.active_model_id,
                analysis=computation.analysis,
                alert_min_severity=alert_min_severity,
            )
    except BaseException:
        if new_model is not None:
            shutil.rmtree(new_model.artifact, ignore_errors=True)
        raise
    return StreamWork(
        name=computation.stream.name,
        counts=counts,
        trained_version=new_model.version if new_model else None,
        phases={**computation.phases, **timer.seconds},
    )


def _analyse(
    detector: Detector,
    stream: PreparedStream,
    first_row: int,
    config: PipelineConfig,
    timer: PhaseTimer,
    open_event: OpenEvent | None,
) -> StreamAnalysis:
    """Score ``stream`` from ``first_row`` on and derive its events and kept windows, timed on ``timer``;
    ``open_event`` is the latest anomaly of ``detector``'s model version, which new windows may continue."""
    from anomaly.analysis import analyse_stream

    return analyse_stream(
        detector,
        stream,
        first_row=first_row,
        normal_sample_every=config.embeddings.normal_sample_every,
        timer=timer,
        open_event=open_event,
    )


def _prepared(raw: RawStream, state: StreamState, config: PipelineConfig) -> tuple[RawStream, PreparedStream]:
    """The stream prepared: a stream read only from ``raw.since`` on the grid of its last run
    (``stream_grid``), or read again whole where that cannot serve: no grid known, its channels not
    those of the last run (a channel silent lately), or too little left to prepare (a gap)."""
    from pipelines.read_plan import stream_grid

    if raw.since is None:
        return raw, prepare_stream(raw, config.preparation, window_length=config.window.length)
    grid = stream_grid(state, config.preparation)
    if grid is not None and state.channels == tuple(raw.channels):
        try:
            return raw, prepare_stream(raw, config.preparation, window_length=config.window.length, grid=grid)
        except DataError:
            pass  # the whole read decides, and says why if it fails too
    return _read_whole(raw.name, config)


def _read_whole(name: str, config: PipelineConfig) -> tuple[RawStream, PreparedStream]:
    """Every row of stream ``name`` read from the source again, and prepared."""
    raw = load_stream(config.source, name)
    return raw, prepare_stream(raw, config.preparation, window_length=config.window.length)


def _reread_whole(
    name: str, state: StreamState, config: PipelineConfig, timer: PhaseTimer
) -> tuple[RawStream, PreparedStream, int]:
    """``_read_whole`` timed as preparation, with the stream's first unscored row."""
    with timer.phase("prepare"):
        raw, stream = _read_whole(name, config)
    return raw, stream, _first_unscored_row(stream, state)


def _read_enough(
    raw: RawStream,
    stream: PreparedStream,
    state: StreamState,
    detector: Detector,
    config: PipelineConfig,
    command: Command,
) -> bool:
    """Whether the rows read serve ``detector``: all of them were, or they start early enough for its
    history (the run planned its reads by the model active then, which another run may have replaced)."""
    from pipelines.read_plan import history_start

    if raw.since is None:
        return True
    needed = detector.history_rows_needed(stream.frequency)
    return raw.since <= history_start(state, stream.frequency, needed, config, command)


def _first_unscored_row(stream: PreparedStream, state: StreamState) -> int:
    """The first row after the stream's watermark: earlier rows were scored by an earlier run."""
    if state.last_scored_ts is None:
        return 0
    return int(np.searchsorted(stream.values.index, state.last_scored_ts, side="right"))


def _save_new_model(
    detector: Detector, stream: PreparedStream, state: StreamState, config: PipelineConfig
) -> NewModel:
    version = state.latest_version + 1
    directory = artifact_dir(config.storage.models, stream.name, version)
    detector.save(directory)
    record = detector.record()
    return NewModel(
        version=version,
        trained_from=detector.trained_from_,
        trained_to=detector.trained_to_,
        params={key: value for key, value in record.items() if key != "embedding_space"},
        threshold=detector.threshold_,
        threshold_method=config.threshold.method,
        val_loss=detector.val_loss_,
        artifact=str(directory),
    )
