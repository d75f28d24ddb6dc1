"""Replaying data in daily chunks through repeated runs, as a scheduled ``anomaly run`` sees it.

Two synthetic streams of seven days at 10-minute steps, each with one clear spike (days 5 and 6), are
fed as a first chunk of four days (enough to train on, and for the default ensemble's seasonal member
to learn the daily cycle) and then three one-day chunks, one run per chunk, with the ``first_sight``
retrain policy: the models trained by the first run score every later chunk. Three ways a source can
present the chunks are replayed:

- ``new_rows``: each file holds only the rows added since the previous run (one export per batch);
- ``overlapping``: each file also repeats the previous 3 hours (an export of "the last 27 hours");
- ``growing``: one file that grows, holding every row so far (a log appended to).

Checks: the database never holds a row twice (scores unique per stream and timestamp, their count
equal to the number of distinct timestamps; kept windows unique per stream and start), each run
scored exactly the rows its chunk added (the first run everything up to its end), one model per
stream, and the anomaly events of the replay match those of a one-shot run: the same first chunk
(so the same models), then every later row scored in one run.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from anomaly.storage.database import open_engine
from anomaly.storage.schema import Anomaly, Model, Score, Stream, Window
from pipelines import Command, execute
from tests.conftest import UNJUDGED_ROWS, sensor_frame, tiny_config, write_long_csv

STEP = timedelta(minutes=10)
STEPS_PER_DAY = 144
DAYS = 7
FIRST_CHUNK_DAYS = 4
WINDOW = 16  # tiny_config's window length
SPIKES = {"plant/a": int(4.5 * STEPS_PER_DAY), "plant/b": int(5.6 * STEPS_PER_DAY)}  # start rows
OVERLAP = timedelta(hours=3)


def _full_frame() -> pd.DataFrame:
    frames = [
        sensor_frame(name, n=DAYS * STEPS_PER_DAY, seed=seed, spike_at=SPIKES[name])
        for seed, name in enumerate(SPIKES, start=11)
    ]
    return pd.concat(frames, ignore_index=True)


def _timestamps(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["timestamp"], utc=True)


START = _timestamps(_full_frame()).min().to_pydatetime()
# Chunk i holds the rows in [BOUNDARIES[i - 1], BOUNDARIES[i]) (the first one from the start).
BOUNDARIES = [START + timedelta(days=day) for day in range(FIRST_CHUNK_DAYS, DAYS + 1)]


def _chunk_file(frame: pd.DataFrame, layout: str, index: int, path: Path) -> Path:
    """Write the source file of run ``index`` in ``layout`` and return it."""
    ts = _timestamps(frame)
    keep = ts < BOUNDARIES[index]
    if index > 0 and layout == "new_rows":
        keep &= ts >= BOUNDARIES[index - 1]
    elif index > 0 and layout == "overlapping":
        keep &= ts >= BOUNDARIES[index - 1] - OVERLAP
    return write_long_csv(path, [frame[keep]])


def _events(url: str) -> dict[str, list]:
    """Each stream's anomaly events (run_id, start_ts, end_ts, peak_ts), in time order."""
    engine = open_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Stream.name, Anomaly.run_id, Anomaly.start_ts, Anomaly.end_ts, Anomaly.peak_ts)
            .join(Stream, Stream.id == Anomaly.stream_id)
            .order_by(Stream.name, Anomaly.start_ts)
        ).all()
    engine.dispose()
    events = defaultdict(list)
    for row in rows:
        events[row.name].append(row)
    return dict(events)


def _near_a_boundary(event) -> bool:
    """True when the event starts or ends within a window length of a chunk boundary (a cut event)."""
    margin = WINDOW * STEP
    return any(
        abs(event.start_ts - boundary) <= margin or abs(event.end_ts - boundary) <= margin
        for boundary in BOUNDARIES[:-1]
    )


def _overlaps(event, others: list) -> list:
    return [other for other in others if other.start_ts <= event.end_ts and event.start_ts <= other.end_ts]


@pytest.fixture(scope="module")
def one_shot_events(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    """The events of the first chunk's run and then one run over the other three days: the replay's
    models (trained on the same four days), deciding the later rows at once. (Against a model trained
    on all seven days, the comparison would also judge two models, not the chunking: a borderline
    false alarm in the four days' own rows may be raised by one and not the other.)"""
    workdir = tmp_path_factory.mktemp("one_shot")
    frame = _full_frame()
    data = _chunk_file(frame, "growing", 0, workdir / "source.csv")
    config = tiny_config(data, workdir, retrain={"policy": "first_sight"})
    assert execute(config, Command.RUN).status == "succeeded"
    write_long_csv(data, [frame])
    assert execute(config, Command.RUN).status == "succeeded"
    return _events(config.storage.db)


@pytest.mark.parametrize("layout", ["new_rows", "overlapping", "growing"])
def test_daily_replay_scores_each_row_once_and_finds_the_one_shot_events(tmp_path, layout, one_shot_events):
    """Replay in daily chunks, then compare with the one-shot run.

    Tolerance of the event comparison: every one-shot event overlaps (in time) a replay event of the
    same stream and vice versa, and matched events peak within one window length (16 steps) of each
    other; events starting or ending within a window length of a chunk boundary are exempt, since a
    replay cuts them there. Both use the models trained on the first four days.
    """
    frame = _full_frame()
    all_ts = _timestamps(frame)
    source = tmp_path / "chunk.csv"
    config = tiny_config(source, tmp_path, retrain={"policy": "first_sight"})
    expected: dict[tuple[int, str], set[datetime]] = {}
    for index in range(len(BOUNDARIES)):
        _chunk_file(frame, layout, index, source)
        summary = execute(config, Command.RUN)
        assert summary.status == "succeeded", [f.error for f in summary.failures]
        added = all_ts < BOUNDARIES[index]
        if index > 0:
            added &= all_ts >= BOUNDARIES[index - 1]
        # A source holding only the new rows starts a stretch there: its first UNJUDGED_ROWS rows get no
        # score.
        first_read = BOUNDARIES[index - 1] if index > 0 and layout == "new_rows" else START
        for name in SPIKES:
            chunk = all_ts[added & (frame["stream"] == name) & (all_ts >= first_read + UNJUDGED_ROWS * STEP)]
            expected[(summary.run_id, name)] = {ts.to_pydatetime() for ts in chunk}

    engine = open_engine(config.storage.db)
    with engine.connect() as connection:
        names = dict(connection.execute(select(Stream.id, Stream.name)).all())
        counts = connection.execute(
            select(Score.stream_id, func.count(), func.count(func.distinct(Score.ts))).group_by(
                Score.stream_id
            )
        ).all()
        scored = defaultdict(set)
        for run_id, stream_id, ts in connection.execute(select(Score.run_id, Score.stream_id, Score.ts)):
            scored[(run_id, names[stream_id])].add(ts)
        duplicate_windows = connection.execute(
            select(Window.stream_id, Window.start_ts)
            .group_by(Window.stream_id, Window.start_ts)
            .having(func.count() > 1)
        ).all()
        models = connection.execute(select(Model.stream_id, Model.trained_to)).all()
    engine.dispose()

    # No duplicate rows: one score per stream and timestamp, every timestamp of the seven days but the
    # first UNJUDGED_ROWS rows of each stretch read.
    unjudged = UNJUDGED_ROWS * (len(BOUNDARIES) if layout == "new_rows" else 1)
    assert sorted((names[s], n, d) for s, n, d in counts) == [
        (name, DAYS * STEPS_PER_DAY - unjudged, DAYS * STEPS_PER_DAY - unjudged) for name in sorted(SPIKES)
    ]
    assert duplicate_windows == []
    # Every chunk's rows scored exactly once, by the run that read the chunk.
    assert {key: len(rows) for key, rows in scored.items()} == {
        key: len(rows) for key, rows in expected.items()
    }
    assert scored == expected
    # The models trained on the first chunk were kept for the later runs.
    assert len(models) == len(SPIKES)
    assert all(trained_to < BOUNDARIES[0] for _, trained_to in models)

    replay_events = _events(config.storage.db)
    assert set(replay_events) == set(one_shot_events) == set(SPIKES)
    for name, spike_row in SPIKES.items():
        spike = START + spike_row * STEP
        replay, one_shot = replay_events[name], one_shot_events[name]
        assert any(e.start_ts <= spike <= e.end_ts for e in replay), f"{name}: replay missed the spike"
        assert any(e.start_ts <= spike <= e.end_ts for e in one_shot), f"{name}: one-shot missed the spike"
        pairs = [(e, replay, "replay") for e in one_shot] + [(e, one_shot, "one-shot") for e in replay]
        for event, others, which in pairs:
            if _near_a_boundary(event):
                continue
            matches = _overlaps(event, others)
            assert matches, f"{name}: event {event.start_ts}..{event.end_ts} has no {which} counterpart"
            assert min(abs(m.peak_ts - event.peak_ts) for m in matches) <= WINDOW * STEP
        for event in replay:  # each event stored by the run whose chunk holds its end
            assert event.end_ts in expected[(event.run_id, name)]
