"""What one run does to one stream: prepare, train or load its model, score new rows, write.

All of a stream's rows are written in one transaction after the work is done, so a failure at any
point leaves the database exactly as it was for that stream (and a freshly saved model artifact is
removed again).
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Engine

from anomaly.config import PipelineConfig
from anomaly.data import RawStream, prepare_stream
from anomaly.data.types import PreparedStream
from anomaly.errors import ModelError
from anomaly.storage.repository import StreamState, stream_state
from anomaly.storage.writer import NewModel, WrittenCounts, write_stream_results
from pipelines.artifacts import artifact_dir

if TYPE_CHECKING:
    from anomaly.model.detector import LSTMAutoencoderDetector

log = logging.getLogger("anomaly")


class Command(StrEnum):
    """The three things a run can do; ``run`` is ``train`` (where needed) then ``score``."""

    RUN = "run"
    TRAIN = "train"
    SCORE = "score"


@dataclass(frozen=True)
class StreamWork:
    """The result of one stream's job, for the run summary."""

    name: str
    counts: WrittenCounts
    trained_version: int | None
    train_seconds: float


def process_stream(
    engine: Engine, run_id: int, raw: RawStream, config: PipelineConfig, command: Command
) -> StreamWork:
    """Do ``command`` for one stream and commit its rows; raises on any failure, writing nothing."""
    from anomaly.detection import analyse_stream
    from anomaly.model.detector import LSTMAutoencoderDetector

    stream = prepare_stream(raw, config.preparation, window_length=config.window.length)
    log.info("%s: %s", stream.name, stream.report.summary())
    with engine.connect() as connection:
        state = stream_state(connection, stream.name)

    new_model, detector, train_seconds = None, None, 0.0
    if command is not Command.SCORE and _needs_training(state, config):
        started = time.perf_counter()
        detector = LSTMAutoencoderDetector.from_config(config).fit(stream)
        train_seconds = time.perf_counter() - started
        new_model = _save_new_model(detector, stream, state, config)
        log.info(
            "%s: trained model v%d in %.1f s (%d epochs, threshold %.4g)",
            stream.name,
            new_model.version,
            train_seconds,
            detector.epochs_trained_,
            detector.threshold_,
        )
    elif command is not Command.TRAIN:
        if state.active_model_artifact is None:
            raise ModelError(
                f"stream {stream.name!r} has no trained model yet: run 'anomaly train' or 'anomaly run'"
            )
        detector = LSTMAutoencoderDetector.load(Path(state.active_model_artifact))

    analysis = None
    if command is not Command.TRAIN:
        first_row = _first_unscored_row(stream, state)
        analysis = analyse_stream(
            detector, stream, first_row=first_row, normal_sample_every=config.embeddings.normal_sample_every
        )
    try:
        with engine.begin() as connection:
            counts = write_stream_results(
                connection,
                run_id=run_id,
                stream=stream,
                new_model=new_model,
                active_model_id=state.active_model_id,
                analysis=analysis,
            )
    except BaseException:
        if new_model is not None:
            shutil.rmtree(new_model.artifact, ignore_errors=True)
        raise
    return StreamWork(
        name=stream.name,
        counts=counts,
        trained_version=new_model.version if new_model else None,
        train_seconds=train_seconds,
    )


def _needs_training(state: StreamState, config: PipelineConfig) -> bool:
    return state.active_model_id is None or config.retrain.policy == "every_run"


def _first_unscored_row(stream: PreparedStream, state: StreamState) -> int:
    """The first row after the stream's watermark: earlier rows were scored by an earlier run."""
    if state.last_scored_ts is None:
        return 0
    return int(np.searchsorted(stream.values.index, state.last_scored_ts, side="right"))


def _save_new_model(
    detector: LSTMAutoencoderDetector, stream: PreparedStream, state: StreamState, config: PipelineConfig
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
