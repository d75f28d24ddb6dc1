"""Every query the dashboard makes, as functions of an ``Engine`` that return DataFrames.

Kept free of Streamlit so that each can be tested against a fixture database. All statements are
SQLAlchemy Core ``select()``/``update()`` over the models of ``anomaly.storage.schema`` with bound
parameters; user input never becomes SQL text. ``set_anomaly_status`` is the only write, so the
dashboard runs with a read-only database user plus UPDATE on
``anomalies(status, note, verdict_by, verdict_at)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, Float, Integer, and_, case, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from anomaly.storage.database import has_schema
from anomaly.storage.outbox import Undelivered, undelivered
from anomaly.storage.schema import ANOMALY_STATUSES, Anomaly, Model, Run, Score, Stream, Window
from anomaly.timestamps import as_utc
from dashboard.downsample import DEFAULT_BUCKETS, envelope_points, plan_buckets

# Rows of raw values the anomaly detail may read for one window; a window is tens to hundreds long.
MAX_WINDOW_ROWS = 10_000
# Flagged windows the cross-stream comparison reads at most (the highest errors first): each brings a
# window's worth of raw values, and a few hundred already make a crowded picture.
MAX_LOOKALIKE_WINDOWS = 1000


class DatabaseState(Enum):
    """What the dashboard can show: nothing yet (with a hint what to run), or the pipeline's results."""

    MISSING = "missing"
    NO_SCHEMA = "no_schema"
    NO_RUNS = "no_runs"
    READY = "ready"


class epoch_seconds(FunctionElement):
    """Seconds since 1970 of a timestamp column, compiled per dialect so bucketing runs in the database."""

    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    # SQLite stores the UTC timestamps as text; julianday() parses it, 2440587.5 is 1970-01-01.
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch_seconds)
def _epoch_seconds_default(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


class bucket_floor(FunctionElement):
    """The whole part of a non-negative number: CAST truncates on SQLite but rounds on PostgreSQL,
    which would shift every bucket by half a width and add one."""

    type = Integer()
    inherit_cache = True
    name = "bucket_floor"


@compiles(bucket_floor, "sqlite")
def _bucket_floor_sqlite(element: bucket_floor, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


@compiles(bucket_floor)
def _bucket_floor_default(element: bucket_floor, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR({compiler.process(element.clauses, **kw)}) AS INTEGER)"


def sqlite_file_missing(url: str) -> bool:
    """Whether ``url`` names an SQLite file that does not exist, which connecting would create."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return False
    return not Path(database).exists()


def database_state(engine: Engine) -> DatabaseState:
    """``NO_SCHEMA`` before ``anomaly db upgrade``/the first run, ``NO_RUNS`` when nothing ran yet."""
    if not has_schema(engine):
        return DatabaseState.NO_SCHEMA
    with engine.connect() as connection:
        n_runs = connection.execute(select(func.count()).select_from(Run)).scalar_one()
    return DatabaseState.READY if n_runs else DatabaseState.NO_RUNS


def data_version(engine: Engine) -> tuple[Any, ...]:
    """A cheap fingerprint that changes whenever a run starts or ends or a verdict is stored.

    Cached queries take it as an argument, so a refresh after a new pipeline run never shows stale
    results while unchanged data is served from the cache.
    """
    with engine.connect() as connection:
        runs = connection.execute(
            select(func.max(Run.id), func.max(Run.finished_at), func.count(Run.id))
        ).one()
        verdicts = connection.execute(
            select(func.count(Anomaly.id), func.count(Anomaly.note), func.max(Anomaly.verdict_at)).where(
                Anomaly.status != "open"
            )
        ).one()
    return (*tuple(runs), *tuple(verdicts))


def _frame(engine: Engine, statement: Any, columns: list[str] | None = None) -> pd.DataFrame:
    with engine.connect() as connection:
        result = connection.execute(statement)
        rows = result.all()
        names = columns or list(result.keys())
    return pd.DataFrame([tuple(row) for row in rows], columns=names)


def streams(engine: Engine) -> pd.DataFrame:
    """All streams by name: id, name, channels (list), frequency, first/last/last-scored timestamps."""
    statement = select(
        Stream.id,
        Stream.name,
        Stream.channels,
        Stream.frequency,
        Stream.first_ts,
        Stream.last_ts,
        Stream.last_scored_ts,
    ).order_by(Stream.name)
    return _frame(engine, statement)


def stream_overview(engine: Engine) -> pd.DataFrame:
    """One row per stream: open and total anomalies, latest anomaly start, active model and threshold."""
    counts = (
        select(
            Anomaly.stream_id,
            func.sum(case((Anomaly.status == "open", 1), else_=0)).label("open_anomalies"),
            func.count(Anomaly.id).label("anomalies"),
            func.max(Anomaly.start_ts).label("latest_anomaly"),
        )
        .group_by(Anomaly.stream_id)
        .subquery()
    )
    active = select(Model.stream_id, Model.version, Model.threshold, Model.created_at).where(
        Model.active.is_(True)
    )
    active = active.subquery()
    statement = (
        select(
            Stream.name.label("stream"),
            Stream.channels,
            func.coalesce(counts.c.open_anomalies, 0).label("open_anomalies"),
            func.coalesce(counts.c.anomalies, 0).label("anomalies"),
            counts.c.latest_anomaly,
            active.c.version.label("model_version"),
            active.c.threshold,
            active.c.created_at.label("model_trained_at"),
            Stream.last_scored_ts,
        )
        .outerjoin(counts, counts.c.stream_id == Stream.id)
        .outerjoin(active, active.c.stream_id == Stream.id)
        .order_by(Stream.name)
    )
    frame = _frame(engine, statement)
    frame["latest_anomaly"] = pd.to_datetime(frame["latest_anomaly"], utc=True)
    frame["channels"] = frame["channels"].map(lambda names: ", ".join(names))
    return frame


def run_history(engine: Engine, limit: int = 100) -> pd.DataFrame:
    """The latest runs first, with status and the error message of failed ones."""
    statement = (
        select(
            Run.id,
            Run.command,
            Run.status,
            Run.started_at,
            Run.finished_at,
            Run.n_streams,
            Run.n_windows,
            Run.n_anomalies,
            Run.error,
        )
        .order_by(Run.id.desc())
        .limit(limit)
    )
    frame = _frame(engine, statement)
    frame["duration_s"] = (
        pd.to_datetime(frame["finished_at"], utc=True) - pd.to_datetime(frame["started_at"], utc=True)
    ).dt.total_seconds()
    return frame


def score_extent(engine: Engine, stream_id: int) -> tuple[datetime, datetime] | None:
    """First and last scored timestamp of a stream, or None when it has no scores yet."""
    statement = select(func.min(Score.ts), func.max(Score.ts)).where(Score.stream_id == stream_id)
    with engine.connect() as connection:
        first, last = connection.execute(statement).one()
    if first is None:
        return None
    # An aggregate: some dialects return it untyped (naive or text).
    return as_utc(first).to_pydatetime(), as_utc(last).to_pydatetime()


def _channel_columns(channels: list[str]) -> list[ColumnElement[float]]:
    """The value expression of each channel: ``scores.value`` alone, or elements of ``scores.values``."""
    if len(channels) <= 1:
        return [Score.value]
    return [Score.values[index].as_float() for index in range(len(channels))]


def count_scores(engine: Engine, stream_id: int, start: datetime, end: datetime) -> int:
    """Scored timestamps of a stream within ``start..end`` (inclusive)."""
    statement = select(func.count()).where(
        Score.stream_id == stream_id, Score.ts >= start, Score.ts <= end
    )
    with engine.connect() as connection:
        return int(connection.execute(statement).scalar_one())


@dataclass(frozen=True)
class SeriesPoints:
    """A stream's values and errors downsampled for plotting.

    ``points`` has ``ts`` (UTC), one column per channel (named as the channel) and ``error``;
    ``n_rows`` is the number of scored rows they summarise.
    """

    points: pd.DataFrame
    n_rows: int


def stream_series(
    engine: Engine,
    stream_id: int,
    channels: list[str],
    start: datetime,
    end: datetime,
    n_buckets: int = DEFAULT_BUCKETS,
) -> SeriesPoints:
    """Values and errors of ``start..end`` reduced in the database to per-bucket minima and maxima.

    At most ``2 * n_buckets`` points come back however many rows the range holds; see
    ``dashboard.downsample`` for why spikes survive.
    """
    plan = plan_buckets(start, end, n_buckets)
    t = epoch_seconds(Score.ts)
    bucket = bucket_floor((t - plan.start_s) * plan.index_scale()).label("bucket")
    value_columns = [*_channel_columns(channels), Score.error]
    names = [*channels, "error"]
    aggregates = []
    for name, column in zip(names, value_columns, strict=True):
        aggregates += [func.min(column).label(f"{name}_min"), func.max(column).label(f"{name}_max")]
    statement = (
        select(
            bucket,
            func.count().label("n"),
            func.min(Score.ts).label("t_first"),
            func.max(Score.ts).label("t_last"),
            *aggregates,
        )
        .where(Score.stream_id == stream_id, Score.ts >= start, Score.ts <= end)
        .group_by(bucket)
    )
    buckets = _frame(engine, statement, ["bucket", "n", "t_first", "t_last"] + [
        f"{name}_{end_}" for name in names for end_ in ("min", "max")
    ])
    return SeriesPoints(points=envelope_points(buckets, names), n_rows=int(buckets["n"].sum()))


def threshold_steps(engine: Engine, stream_id: int, start: datetime, end: datetime) -> pd.DataFrame:
    """The threshold in force over time: one row per model version that scored ``start..end``.

    Columns: version, threshold, start_ts, end_ts (first and last timestamp it scored), in time order.
    """
    statement = (
        select(
            Model.version,
            Score.threshold,
            func.min(Score.ts).label("start_ts"),
            func.max(Score.ts).label("end_ts"),
        )
        .join(Model, Model.id == Score.model_id)
        .where(Score.stream_id == stream_id, Score.ts >= start, Score.ts <= end)
        .group_by(Model.version, Score.threshold)
        .order_by(func.min(Score.ts))
    )
    frame = _frame(engine, statement)
    for column in ("start_ts", "end_ts"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def anomalies(
    engine: Engine,
    *,
    stream_names: list[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    min_severity: float | None = None,
    statuses: list[str] | None = None,
) -> pd.DataFrame:
    """Anomaly events matching the filters (each None means no filter), most severe first.

    An event matches a time range when it overlaps it. Columns: id, stream, stream_id, start_ts,
    end_ts, peak_ts, peak_error, threshold, severity, n_windows, status, note, verdict_by, verdict_at
    (who set the status and when; None before anyone did), model_version, run_id.
    """
    conditions = []
    if stream_names is not None:
        conditions.append(Stream.name.in_(stream_names))
    if start is not None:
        conditions.append(Anomaly.end_ts >= start)
    if end is not None:
        conditions.append(Anomaly.start_ts <= end)
    if min_severity is not None:
        conditions.append(Anomaly.severity >= min_severity)
    if statuses is not None:
        conditions.append(Anomaly.status.in_(statuses))
    statement = (
        select(
            Anomaly.id,
            Stream.name.label("stream"),
            Anomaly.stream_id,
            Anomaly.start_ts,
            Anomaly.end_ts,
            Anomaly.peak_ts,
            Anomaly.peak_error,
            Anomaly.threshold,
            Anomaly.severity,
            Anomaly.n_windows,
            Anomaly.status,
            Anomaly.note,
            Anomaly.verdict_by,
            Anomaly.verdict_at,
            Model.version.label("model_version"),
            Anomaly.run_id,
        )
        .join(Stream, Stream.id == Anomaly.stream_id)
        .join(Model, Model.id == Anomaly.model_id)
        .where(and_(True, *conditions))
        .order_by(Anomaly.severity.desc(), Anomaly.id)
    )
    return _frame(engine, statement)


def anomaly_windows(engine: Engine, anomaly_id: int) -> pd.DataFrame:
    """The stored windows of one anomaly in time order, with their reconstruction and cluster."""
    statement = (
        select(
            Window.id,
            Window.start_ts,
            Window.end_ts,
            Window.error,
            Window.cluster,
            Window.reconstruction,
        )
        .where(Window.anomaly_id == anomaly_id)
        .order_by(Window.start_ts)
    )
    return _frame(engine, statement)


def window_values(
    engine: Engine, stream_id: int, channels: list[str], start: datetime, end: datetime
) -> pd.DataFrame:
    """The raw values of ``start..end`` (a window): ``ts``, one column per channel, ``error``."""
    statement = (
        select(Score.ts, *_channel_columns(channels), Score.error)
        .where(Score.stream_id == stream_id, Score.ts >= start, Score.ts <= end)
        .order_by(Score.ts)
        .limit(MAX_WINDOW_ROWS)
    )
    return _frame(engine, statement, ["ts", *channels, "error"])


def channel_scales(engine: Engine, stream_id: int, channels: list[str]) -> np.ndarray:
    """Each channel's standard deviation over the stream, shape ``(n_channels,)``; 1 where undefined.

    Errors are compared across channels in these units, as the model's scaler would, so that a
    channel measured in large units does not take the whole error share.
    """
    columns = _channel_columns(channels)
    aggregates = []
    for column in columns:
        aggregates += [func.avg(column), func.avg(column * column)]
    with engine.connect() as connection:
        row = connection.execute(select(*aggregates).where(Score.stream_id == stream_id)).one()
    means = np.array([np.nan if v is None else float(v) for v in row[0::2]])
    squares = np.array([np.nan if v is None else float(v) for v in row[1::2]])
    scales = np.sqrt(np.clip(squares - means**2, 0.0, None))
    return np.where(np.isfinite(scales) & (scales > 0), scales, 1.0)


def embeddings(engine: Engine) -> pd.DataFrame:
    """Every stored window with a 2-D position: window id, stream, model id and version, times,
    cluster, x, y, flags. Positions and clusters belong to the model that encoded the window."""
    statement = (
        select(
            Window.id.label("window_id"),
            Stream.name.label("stream"),
            Window.model_id,
            Model.version.label("model_version"),
            Window.start_ts,
            Window.end_ts,
            Window.error,
            Window.is_anomaly,
            Window.anomaly_id,
            Window.cluster,
            Window.x,
            Window.y,
        )
        .join(Stream, Stream.id == Window.stream_id)
        .join(Model, Model.id == Window.model_id)
        .where(Window.x.is_not(None), Window.y.is_not(None))
        .order_by(Window.id)
    )
    return _frame(engine, statement)


def lookalike_windows(
    engine: Engine, normal_sample: int = 0, max_flagged: int = MAX_LOOKALIKE_WINDOWS
) -> pd.DataFrame:
    """The windows to compare across streams: every flagged window of each stream's active model (the
    ``max_flagged`` with the highest error when there are more), plus ``normal_sample`` of its normal
    windows spread evenly over their ids (0 for none), flagged first.

    Only active models count: their flags are judged by the threshold in force now. Columns:
    window_id, stream_id, stream, channels, start_ts, end_ts, error, is_anomaly, anomaly_id, status
    (of the anomaly; None for a normal window), reconstruction.
    """
    def of_active_models(*columns: Any) -> Any:
        return select(*columns).select_from(Window).join(
            Model, and_(Model.id == Window.model_id, Model.active.is_(True))
        )

    columns = [
        Window.id.label("window_id"),
        Window.stream_id,
        Stream.name.label("stream"),
        Stream.channels,
        Window.start_ts,
        Window.end_ts,
        Window.error,
        Window.is_anomaly,
        Window.anomaly_id,
        Anomaly.status,
        Window.reconstruction,
    ]

    def described(statement: Any) -> Any:
        return statement.join(Stream, Stream.id == Window.stream_id).outerjoin(
            Anomaly, Anomaly.id == Window.anomaly_id
        )

    flagged = _frame(engine, described(of_active_models(*columns))
                     .where(Window.is_anomaly.is_(True))
                     .order_by(Window.error.desc(), Window.id)
                     .limit(max_flagged))
    if normal_sample <= 0:
        return flagged
    with engine.connect() as connection:
        normal_ids = connection.execute(
            of_active_models(Window.id).where(Window.is_anomaly.is_(False)).order_by(Window.id)
        ).scalars().all()
    if not normal_ids:
        return flagged
    picks = np.unique(np.linspace(0, len(normal_ids) - 1, min(normal_sample, len(normal_ids))).round())
    chosen = [int(normal_ids[int(index)]) for index in picks]
    normal = _frame(engine, described(select(*columns).select_from(Window))
                    .where(Window.id.in_(chosen))
                    .order_by(Window.id))
    return pd.concat([flagged, normal], ignore_index=True) if not flagged.empty else normal


def window_series(engine: Engine, window_ids: list[int]) -> pd.DataFrame:
    """The raw values inside each of the given windows: window_id, ts, value (one channel) and values
    (a list, multivariate streams), in time order per window; a timestamp scored by several models
    comes once."""
    statement = (
        select(Window.id.label("window_id"), Score.ts, Score.value, Score.values)
        .join(
            Score,
            and_(Score.stream_id == Window.stream_id, Score.ts >= Window.start_ts, Score.ts <= Window.end_ts),
        )
        .where(Window.id.in_(window_ids))
        .order_by(Window.id, Score.ts)
    )
    series = _frame(engine, statement, ["window_id", "ts", "value", "values"])
    return series.drop_duplicates(["window_id", "ts"], ignore_index=True)


def nearest_windows(engine: Engine, anomaly_id: int, k: int = 10) -> pd.DataFrame:
    """The ``k`` stored windows closest in embedding space to any window of the anomaly.

    Only windows with an embedding of the same length are comparable; the anomaly's own windows are
    left out. Columns: window_id, stream, start_ts, end_ts, cluster, is_anomaly, anomaly_id, distance
    (Euclidean, in embedding units), nearest first.
    """
    own = _frame(engine, select(Window.embedding).where(Window.anomaly_id == anomaly_id))
    if own.empty:
        return pd.DataFrame(
            columns=[
                "window_id", "stream", "start_ts", "end_ts", "cluster", "is_anomaly", "anomaly_id",
                "distance",
            ]
        )
    queries = np.array(own["embedding"].tolist(), dtype=float)
    statement = (
        select(
            Window.id.label("window_id"),
            Stream.name.label("stream"),
            Window.start_ts,
            Window.end_ts,
            Window.cluster,
            Window.is_anomaly,
            Window.anomaly_id,
            Window.embedding,
        )
        .join(Stream, Stream.id == Window.stream_id)
        .where((Window.anomaly_id != anomaly_id) | Window.anomaly_id.is_(None))
    )
    candidates = _frame(engine, statement)
    candidates = candidates[candidates["embedding"].map(len) == queries.shape[1]]
    if candidates.empty:
        return candidates.drop(columns="embedding").assign(distance=pd.Series(dtype=float))
    vectors = np.array(candidates["embedding"].tolist(), dtype=float)
    distances = np.min([np.linalg.norm(vectors - query, axis=1) for query in queries], axis=0)
    nearest = candidates.drop(columns="embedding").assign(distance=distances)
    return nearest.nsmallest(k, "distance").reset_index(drop=True)


def set_anomaly_status(
    engine: Engine, anomaly_id: int, status: str, note: str | None, *, analyst: str,
    at: datetime | None = None,
) -> None:
    """Store an analyst's verdict on an anomaly, with who gave it and when (``at``, default now): the
    dashboard's only write. Reopening is a verdict too, so the record always names the last change."""
    if status not in ANOMALY_STATUSES:
        raise ValueError(f"status must be one of {', '.join(ANOMALY_STATUSES)}, got {status!r}")
    if not analyst.strip():
        raise ValueError("a verdict needs the name of the analyst who gives it")
    statement = (
        update(Anomaly)
        .where(Anomaly.id == anomaly_id)
        .values(status=status, note=(note or "").strip() or None, verdict_by=analyst.strip(),
                verdict_at=at or datetime.now(UTC))
    )
    with engine.begin() as connection:
        if connection.execute(statement).rowcount != 1:
            raise LookupError(f"no anomaly with id {anomaly_id}")


def undelivered_alerts(engine: Engine) -> Undelivered:
    """Alert notifications not yet delivered to every configured URL, and the last error among them."""
    with engine.connect() as connection:
        return undelivered(connection)
