"""Bulk insert of one stream's ``scores`` rows, the table every run writes most of.

The rows arrive as columns (numpy arrays) and are converted to the database's own representation in a
few vectorised steps instead of one Python dict and one type conversion per row and column:

- PostgreSQL (psycopg 3): one binary ``COPY``, its payload built as a numpy structured array; the
  server then spends its time on the foreign key and index checks, not on parsing text.
- SQLite: one ``executemany`` of plain tuples, with the timestamps formatted as the text SQLAlchemy's
  ``DateTime`` stores there, so ORM reads and text comparisons on ``ts`` see exactly the same values.
- Any other database: SQLAlchemy Core ``insert`` with one parameter set per row, the portable reference
  the two fast paths are tested against.

All three run on the caller's connection, inside its transaction, so a failure anywhere in the stream
leaves none of its rows, and a row already stored for (stream_id, ts, model_id) fails the insert as the
primary key demands. Driver errors reach the caller as SQLAlchemy exceptions (``IntegrityError``...).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, insert
from sqlalchemy.exc import DBAPIError

from anomaly.storage.schema import Score

_PG_EPOCH_US = int(np.datetime64("2000-01-01T00:00:00", "us").astype(np.int64))
_PG_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
_PG_BINARY_TRAILER = b"\xff\xff"
# "values" comes last so that its variable-length JSON text can follow each row's fixed-width fields.
_PG_COPY = (
    'COPY scores (stream_id, ts, model_id, value, error, threshold, is_anomaly, run_id, "values") '
    "FROM STDIN (FORMAT BINARY)"
)
_SQLITE_INSERT = (
    'INSERT INTO scores (stream_id, ts, model_id, value, "values", error, threshold, is_anomaly, run_id) '
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# What SQLAlchemy's JSON type stores for None: the JSON null, not SQL NULL.
_JSON_NULL = "null"


@dataclass(frozen=True)
class ScoreRows:
    """One stream's scored rows as columns, all written by one model in one run.

    ``timestamps`` (n_rows,) are timezone-aware; ``values`` (n_rows, n_channels) the row's value(s),
    stored in ``value`` for one channel and as a JSON list in ``values`` for several; ``errors``
    (n_rows,) the row errors compared against ``threshold``.
    """

    stream_id: int
    model_id: int
    run_id: int
    threshold: float
    timestamps: pd.DatetimeIndex
    values: np.ndarray
    errors: np.ndarray

    def __post_init__(self) -> None:
        if self.timestamps.tz is None:
            raise ValueError("naive timestamps given to the UTC column scores.ts")
        if not len(self.timestamps) == len(self.values) == len(self.errors):
            raise ValueError(
                f"scores need as many values ({len(self.values)}) and errors ({len(self.errors)}) "
                f"as timestamps ({len(self.timestamps)})"
            )

    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def univariate(self) -> bool:
        """Whether the value goes to ``value`` (one channel) rather than the JSON ``values``."""
        return self.values.shape[1] == 1

    @property
    def is_anomaly(self) -> np.ndarray:
        """(n_rows,) bool: the error lies above the threshold."""
        return self.errors > self.threshold

    def utc_microseconds(self) -> np.ndarray:
        """(n_rows,) ``datetime64[us]`` in UTC, the precision both databases keep."""
        return self.timestamps.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[us]")

    def json_values(self) -> list[str]:
        """The ``values`` column as SQLAlchemy's JSON type writes it: ``json.dumps`` of the list."""
        if self.univariate:
            return [_JSON_NULL] * len(self)
        return [json.dumps(row) for row in self.values.tolist()]


def insert_scores(connection: Connection, rows: ScoreRows) -> int:
    """Insert ``rows`` into ``scores`` inside the caller's transaction; returns how many were written."""
    if len(rows) == 0:
        return 0
    dialect = connection.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy_postgresql(connection, rows)
    elif dialect.name == "sqlite" and dialect.driver == "pysqlite":
        _executemany_sqlite(connection, rows)
    else:
        insert_scores_portably(connection, rows)
    return len(rows)


def insert_scores_portably(connection: Connection, rows: ScoreRows) -> None:
    """Core ``insert`` with one parameter set per row, through every SQLAlchemy type conversion."""
    timestamps = rows.timestamps.tz_convert("UTC").to_pydatetime()
    values = rows.values.tolist()
    connection.execute(
        insert(Score),
        [
            {
                "stream_id": rows.stream_id,
                "ts": ts,
                "model_id": rows.model_id,
                "value": value[0] if rows.univariate else None,
                "values": None if rows.univariate else value,
                "error": error,
                "threshold": rows.threshold,
                "is_anomaly": flag,
                "run_id": rows.run_id,
            }
            for ts, value, error, flag in zip(
                timestamps, values, rows.errors.tolist(), rows.is_anomaly.tolist(), strict=True
            )
        ],
    )


def _executemany_sqlite(connection: Connection, rows: ScoreRows) -> None:
    # SQLAlchemy keeps SQLite timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' text (UTC, naive).
    timestamps = np.char.replace(np.datetime_as_string(rows.utc_microseconds(), unit="us"), "T", " ")
    parameters = list(
        zip(
            repeat(rows.stream_id),
            timestamps.tolist(),
            repeat(rows.model_id),
            rows.values[:, 0].tolist() if rows.univariate else repeat(None),
            rows.json_values(),
            rows.errors.tolist(),
            repeat(rows.threshold),
            rows.is_anomaly.tolist(),
            repeat(rows.run_id),
        )
    )
    connection.exec_driver_sql(_SQLITE_INSERT, parameters)


def _copy_postgresql(connection: Connection, rows: ScoreRows) -> None:
    payload = _pg_binary_payload(rows)
    driver_connection = connection.connection.driver_connection
    with (
        _as_sqlalchemy_error(connection, _PG_COPY),
        driver_connection.cursor() as cursor,
        cursor.copy(_PG_COPY) as copy,
    ):
        copy.write(payload)


def _pg_binary_payload(rows: ScoreRows) -> bytes:
    """PostgreSQL's binary COPY format: per row a field count, then each field's length and bytes.

    The types must be the columns' own: int4 ids, timestamptz as microseconds since 2000-01-01 UTC,
    float8, a one-byte bool, and json as its text.
    """
    microseconds = rows.utc_microseconds().astype(np.int64) - _PG_EPOCH_US
    fields: list[tuple[Any, str]] = [
        (rows.stream_id, ">i4"),
        (microseconds, ">i8"),
        (rows.model_id, ">i4"),
        (rows.values[:, 0] if rows.univariate else None, ">f8"),
        (rows.errors, ">f8"),
        (rows.threshold, ">f8"),
        (rows.is_anomaly, "?"),
        (rows.run_id, ">i4"),
    ]
    if rows.univariate:
        body = _fixed_width_rows(len(rows), [*fields, (_JSON_NULL.encode(), "S4")], n_fields=9).tobytes()
    else:
        fixed = _fixed_width_rows(len(rows), fields, n_fields=9)
        raw, size = fixed.tobytes(), fixed.itemsize
        heads = (raw[start : start + size] for start in range(0, len(raw), size))
        texts = (text.encode() for text in rows.json_values())
        body = b"".join(chain.from_iterable(zip(heads, (_pg_field(text) for text in texts), strict=True)))
    return _PG_BINARY_HEADER + body + _PG_BINARY_TRAILER


def _fixed_width_rows(n_rows: int, fields: list[tuple[Any, str]], n_fields: int) -> np.ndarray:
    """The binary COPY encoding of ``fields`` ((column or scalar or None for NULL, big-endian dtype))
    for every row; ``n_fields`` counts fields that the caller appends to each row after these."""
    layout: list[tuple[str, str]] = [("n_fields", ">i2")]
    for index, (value, dtype) in enumerate(fields):
        layout.append((f"length{index}", ">i4"))
        if value is not None:
            layout.append((f"field{index}", dtype))
    encoded = np.empty(n_rows, dtype=np.dtype(layout))
    encoded["n_fields"] = n_fields
    for index, (value, dtype) in enumerate(fields):
        encoded[f"length{index}"] = -1 if value is None else np.dtype(dtype).itemsize
        if value is not None:
            encoded[f"field{index}"] = value
    return encoded


def _pg_field(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


@contextmanager
def _as_sqlalchemy_error(connection: Connection, statement: str) -> Iterator[None]:
    """Turn a driver error raised outside SQLAlchemy's ``execute`` into the exception ``execute`` would
    have raised, so callers catch one family of errors whichever insert path ran."""
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi_error, dialect=connection.dialect) from exc
