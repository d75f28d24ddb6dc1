"""Which rows of the source a run reads: for a stream that only needs scoring, the end of its history.

A scheduled run over a source that grows for months should cost what its new rows cost. A stream whose
active model stays (``anomaly.retrain.model_reason``) needs, before its first new row, the history its
detector's scores depend on (``Detector.history_rows_needed``) and the steps after which preparing a
cut stream on its earlier grid is preparing the whole (``preparation_reach``); with ``max_new_rows``
also every row after the model's training data, which that trigger counts. Streams to train, streams
never scored and streams new to the run are read whole, and so is a stream that turns out to need
training after all (``compute_stream`` reads it again).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from anomaly.config import PipelineConfig, PreparationConfig
from anomaly.data.prepare import preparation_reach
from anomaly.data.ranges import ReadRanges
from anomaly.data.types import GridAnchor
from anomaly.errors import ModelError
from anomaly.retrain import model_reason
from anomaly.storage.repository import StreamState, stream_names, stream_state
from pipelines.stream_job import Command


def plan_reads(engine: Engine, config: PipelineConfig, command: Command, now: datetime) -> ReadRanges | None:
    """The rows this run needs of every stream the database knows (others are read whole), or None
    when no stream can be read in part."""
    if command is Command.TRAIN:
        return None
    with engine.connect() as connection:
        states = {name: stream_state(connection, name) for name in stream_names(connection)}
    since, whole = {}, set()
    for name, state in states.items():
        start = scoring_read_start(state, config, command, now)
        if start is None:
            whole.add(name)
        else:
            since[name] = start
    return ReadRanges(since=since, whole=frozenset(whole)) if since else None


def scoring_read_start(
    state: StreamState, config: PipelineConfig, command: Command, now: datetime
) -> pd.Timestamp | None:
    """The earliest time of the stream this run must read when its active model stays, or None when
    the run needs all of it (a model to train, no watermark or grid yet, an unreadable artifact: the
    stream's job then reports that)."""
    from anomaly.detectors import load_detector

    active = state.active_model
    if command is Command.TRAIN or active is None:
        return None
    if command is Command.RUN and model_reason(active, config.retrain, now) is not None:
        return None
    grid = stream_grid(state, config.preparation)
    if grid is None:
        return None
    try:
        detector = load_detector(Path(active.artifact))
    except ModelError:
        return None
    return history_start(state, grid.step, detector.history_rows_needed(grid.step), config, command)


def history_start(
    state: StreamState, step: pd.Timedelta, history_rows: int, config: PipelineConfig, command: Command
) -> pd.Timestamp:
    """The time from which reading the stream gives its new rows the scores a whole read gives, on a
    grid of ``step``, for a detector needing ``history_rows`` steps before the first new row (see the
    module)."""
    reach = preparation_reach(config.preparation, config.window.length)
    first_new = pd.Timestamp(state.last_scored_ts) + step
    start = first_new - (history_rows + reach) * step
    if command is Command.RUN and config.retrain.max_new_rows is not None and state.active_model:
        start = min(start, pd.Timestamp(state.active_model.trained_to) + step - reach * step)
    return start


def stream_grid(state: StreamState, preparation: PreparationConfig) -> GridAnchor | None:
    """The grid the stream's last run put it on: the step it stored (which a configured frequency must
    equal) through its last scored timestamp; None when the database does not say, or the
    configuration now asks for another step."""
    if state.last_scored_ts is None or state.frequency is None:
        return None
    try:
        step = pd.Timedelta(state.frequency)
        if preparation.frequency != "auto" and pd.Timedelta(preparation.frequency) != step:
            return None
    except ValueError:
        return None
    if pd.isna(step) or step <= pd.Timedelta(0):
        return None
    return GridAnchor(step=step, origin=pd.Timestamp(state.last_scored_ts))
