"""Reading a source (CSV, Parquet, a directory of CSVs, or SQL) into one ``RawStream`` per stream.

Layouts, as in the product contract:

- long: ``timestamp``, ``stream`` and value columns; each distinct stream is one stream whose channels
  are the value columns it uses (not entirely empty in its rows), in file order;
- wide: ``timestamp`` plus one column per stream, each a univariate stream with channel ``value``;
- directory: every ``*.csv`` below a folder is one stream named by its relative path;
- SQL: a table or query returning the long layout.

Problems with the whole source (missing file or column, empty file) raise ``DataError``; problems with
one stream (a bad cell in its rows, an unreadable file in a directory) are collected in
``LoadedSource.failures`` so that the other streams still run.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.parquet
import sqlalchemy
import sqlalchemy.exc

from anomaly.config import SourceConfig
from anomaly.data.parquet_ranges import group_row_numbers, wanted_row_groups
from anomaly.data.parsing import (
    ParsedTimestamps,
    ParsedValues,
    parse_timestamps,
    parse_values,
    timestamp_problem,
    value_problem,
)
from anomaly.data.ranges import ReadRanges
from anomaly.data.sql_ranges import range_filters, timestamp_kind
from anomaly.data.types import RawStream
from anomaly.errors import DataError

Layout = Literal["long", "wide", "directory"]

PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})

WIDE_CHANNEL = "value"
"""Channel name of every stream read from a wide table."""


@dataclass(frozen=True)
class LoadedSource:
    """What a source yielded: the streams that loaded (sorted by name) and why each other one did not."""

    streams: list[RawStream]
    failures: dict[str, DataError] = field(default_factory=dict)


@dataclass(frozen=True)
class _Table:
    """A table as read: its cells, where it came from, and each row's number in the source;
    ``complete`` unless rows were left out in reading it (a filtered read)."""

    frame: pd.DataFrame
    origin: str
    rows: np.ndarray
    complete: bool = True

    def columns_found(self) -> str:
        return ", ".join(repr(column) for column in self.frame.columns) or "none"

    def require(self, columns: Sequence[str]) -> None:
        """Raise naming the first of ``columns`` the table lacks, and the columns it has."""
        for column in columns:
            if column not in self.frame.columns:
                raise DataError(
                    f"missing column {column!r} (columns found: {self.columns_found()})", file=self.origin
                )

    def value_columns(self, source: SourceConfig, *, exclude: set[str]) -> list[str]:
        """The configured value columns, or every column not in ``exclude``, in table order."""
        if source.value_columns:
            self.require(source.value_columns)
            return list(source.value_columns)
        columns = [column for column in self.frame.columns if column not in exclude]
        if not columns:
            raise DataError(f"no value columns (columns found: {self.columns_found()})", file=self.origin)
        return columns


def load_source(source: SourceConfig, ranges: ReadRanges | None = None) -> LoadedSource:
    """Read every stream of ``source``, or with ``ranges`` only the rows it wants.

    SQL sources filter in the query and Parquet files skip row groups (``ReadRanges`` says how other
    streams are found then); CSV files are read whole, since rows in text have no index to seek by.
    Either way each stream of ``ranges.since`` is cut at its start after parsing, so a stream's rows
    do not depend on the kind of source.

    Row numbers, in errors and in ``RawStream.rows``, are 1-based: in a CSV file the header is row 1 and
    the first data row is row 2 (blank lines count, as in an editor, though they hold no data); in
    Parquet files and SQL results, which have no header row, the first data row is row 1 (of the rows
    read, for a filtered SQL read).
    """
    ranges = ranges or ReadRanges()
    if source.url is not None:
        return _load_filtered(lambda wanted: _read_sql(source, wanted), source, ranges, "long")
    path = Path(source.path)
    if not path.exists():
        raise DataError("file or directory not found", file=str(path))
    if path.is_dir():
        if source.layout not in ("auto", "directory"):
            raise DataError(f"layout {source.layout!r} needs a file, not a directory", file=str(path))
        return _load_directory(path, source, ranges)
    if source.layout == "directory":
        raise DataError("layout 'directory' needs a directory of CSV files, not a file", file=str(path))
    if _is_parquet(path) and ranges.narrows:
        layout = _table_layout(_read_header(path), source)
        return _load_filtered(
            lambda wanted: _read_parquet(path, source, wanted, layout), source, ranges, layout
        )
    table = _read_file(path)
    if _table_layout(list(table.frame.columns), source) == "long":
        return _split_long(table, source, ranges)
    return _split_wide(table, source, ranges)


def load_stream(source: SourceConfig, name: str) -> RawStream:
    """All rows of stream ``name``: what a run reads again when it read only the end of the stream and
    then finds it must train. Raises ``DataError`` when the stream fails to load or is gone."""
    loaded = load_source(source, ReadRanges.of_whole([name]))
    if name in loaded.failures:
        raise loaded.failures[name]
    for stream in loaded.streams:
        if stream.name == name:
            return stream
    raise DataError("the stream is no longer in the source", stream=name)


def _load_filtered(
    read: Callable[[ReadRanges], _Table], source: SourceConfig, ranges: ReadRanges, layout: str
) -> LoadedSource:
    """Split what ``read`` returns for ``ranges``, then read whole the streams that were found only by
    their recent rows (streams new to the run) and put them in place of their partial rows."""
    split = _split_long if layout == "long" else _split_wide
    loaded = split(read(ranges), source, ranges)
    found = ranges.partially_read([*(stream.name for stream in loaded.streams), *loaded.failures])
    if not found:
        return loaded
    whole = ReadRanges.of_whole(found)
    rest = split(read(whole), source, whole)
    streams = [stream for stream in loaded.streams if stream.name not in whole.whole] + rest.streams
    failures = {name: error for name, error in loaded.failures.items() if name not in whole.whole}
    return LoadedSource(
        streams=sorted(streams, key=lambda stream: stream.name), failures=failures | rest.failures
    )


def detect_layout(path: Path, source: SourceConfig) -> Layout:
    """The layout of ``path``: ``source.layout`` unless it is ``"auto"``, in which case a directory is
    ``"directory"``, a table with the stream column ``"long"`` and any other table ``"wide"``."""
    if source.layout != "auto":
        return source.layout
    path = Path(path)
    if not path.exists():
        raise DataError("file or directory not found", file=str(path))
    if path.is_dir():
        return "directory"
    return _table_layout(_read_header(path), source)


def _table_layout(columns: Sequence[str], source: SourceConfig) -> Literal["long", "wide"]:
    if source.layout in ("long", "wide"):
        return source.layout
    return "long" if source.stream_column in columns else "wide"


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _driver_reason(error: BaseException) -> str:
    """The database driver's own first line, without the SQL and links that wrappers add."""
    if isinstance(error, pd.errors.DatabaseError) and error.__cause__ is not None:
        error = error.__cause__
    return _first_line(getattr(error, "orig", None) or error)


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in PARQUET_SUFFIXES


def _read_header(path: Path) -> list[str]:
    if _is_parquet(path):
        try:
            return list(pyarrow.parquet.read_schema(path).names)
        except (OSError, pyarrow.ArrowException) as exc:
            raise DataError(f"not a readable Parquet file: {_first_line(exc)}", file=str(path)) from None
    return list(_read_csv(path, header_only=True).columns)


def _read_csv(path: Path, *, header_only: bool) -> pd.DataFrame:
    """Every cell as text, blank lines kept (as rows of empty cells) so that positions match lines."""
    try:
        with warnings.catch_warnings():
            # Without this pandas would silently take an extra field on every row as the index.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                index_col=False,
                nrows=0 if header_only else None,
            )
    except pd.errors.ParserWarning:
        raise DataError("the data rows have more fields than the header", file=str(path)) from None
    except pd.errors.EmptyDataError:
        raise DataError("empty file: no header row", file=str(path)) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"not a readable CSV file: {_first_line(exc)}", file=str(path)) from None
    except UnicodeDecodeError:
        raise DataError("not a UTF-8 text file", file=str(path)) from None
    return frame.set_axis([str(column).strip() for column in frame.columns], axis=1)


def _read_file(path: Path) -> _Table:
    """Read a CSV or Parquet file; raise if it has no data rows."""
    if _is_parquet(path):
        try:
            frame = pd.read_parquet(path)
        except (OSError, pyarrow.ArrowException) as exc:
            raise DataError(f"not a readable Parquet file: {_first_line(exc)}", file=str(path)) from None
        table = _Table(frame, str(path), np.arange(1, len(frame) + 1))
    else:
        frame = _read_csv(path, header_only=False)
        blank = (frame == "").all(axis=1).to_numpy()
        positions = np.flatnonzero(~blank)
        table = _Table(frame.iloc[positions].reset_index(drop=True), str(path), positions + 2)
    if table.frame.empty:
        raise DataError("no data rows", file=str(path))
    return table


def _read_parquet(
    path: Path, source: SourceConfig, ranges: ReadRanges, layout: Literal["long", "wide"]
) -> _Table:
    """The row groups of a Parquet file that may hold rows ``ranges`` wants (``wanted_row_groups``),
    with their row numbers in the file; no rows at all is no error here (nothing new was found)."""
    try:
        parquet = pyarrow.parquet.ParquetFile(path)
        groups = wanted_row_groups(
            parquet,
            ranges,
            timestamp_column=source.timestamp_column,
            stream_column=source.stream_column,
            layout=layout,
        )
        if groups is None:
            groups = list(range(parquet.metadata.num_row_groups))
        frame = parquet.read_row_groups(groups).to_pandas()
    except (OSError, pyarrow.ArrowException) as exc:
        raise DataError(f"not a readable Parquet file: {_first_line(exc)}", file=str(path)) from None
    rows = group_row_numbers(parquet, groups)
    return _Table(
        frame.reset_index(drop=True), str(path), rows, complete=len(rows) == parquet.metadata.num_rows
    )


def _read_sql(source: SourceConfig, ranges: ReadRanges) -> _Table:
    """Run the table's ``SELECT *`` or the query, filtered to what ``ranges`` wants where it narrows
    (``anomaly.data.sql_ranges``); the result must be in the long layout."""
    try:
        engine = sqlalchemy.create_engine(source.url)
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError, ValueError, ImportError) as exc:
        raise DataError(f"invalid database URL: {_first_line(exc)}") from None
    origin = f"sql:{engine.url.render_as_string(hide_password=True)}"
    database = engine.url.database
    # SQLite would silently create a missing file; a typo in the path must fail instead.
    is_sqlite_file = engine.url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:")
    if is_sqlite_file and not Path(database).is_file():
        raise DataError("database file not found", file=origin)
    try:
        try:
            connection = engine.connect()
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise DataError(f"cannot connect to the database: {_driver_reason(exc)}", file=origin) from None
        with connection:
            try:
                frames = [
                    pd.read_sql(statement, connection)
                    for statement in _sql_statements(source, ranges, connection)
                ]
            except (sqlalchemy.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
                what = "query" if source.query is not None else f"reading table {source.table!r}"
                raise DataError(f"{what} failed: {_driver_reason(exc)}", file=origin) from None
    finally:
        engine.dispose()
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if frame.empty and not ranges.narrows:
        raise DataError("no data rows", file=origin)
    return _Table(frame, origin, np.arange(1, len(frame) + 1), complete=not ranges.narrows)


def _sql_statements(
    source: SourceConfig, ranges: ReadRanges, connection: sqlalchemy.Connection
) -> list[sqlalchemy.Executable]:
    """The statements whose results together are the source's rows ``ranges`` wants: the plain table
    or query when it wants everything, else that filtered, judging how to compare the timestamp column
    by its first value (``anomaly.data.sql_ranges``)."""
    if not ranges.narrows:
        if source.query is not None:
            return [sqlalchemy.text(source.query)]
        return [sqlalchemy.select(sqlalchemy.literal_column("*")).select_from(sqlalchemy.table(source.table))]
    timestamp, stream = source.timestamp_column, source.stream_column
    if source.query is not None:
        # A subquery cannot end in a semicolon, which a query pasted from a SQL console often does.
        inner = sqlalchemy.text(source.query.strip().rstrip(";"))
        rows = inner.columns(sqlalchemy.column(timestamp), sqlalchemy.column(stream)).subquery("source_rows")
    else:
        rows = sqlalchemy.table(source.table, sqlalchemy.column(timestamp), sqlalchemy.column(stream))
    first = connection.execute(
        sqlalchemy.select(rows.c[timestamp], rows.c[stream]).where(rows.c[timestamp].is_not(None)).limit(1)
    ).first()
    if first is None:
        return []
    filters = range_filters(
        ranges,
        rows.c[stream],
        rows.c[timestamp],
        timestamp_kind(first[0]),
        names_compare=isinstance(first[1], str),
    )
    everything = sqlalchemy.select(sqlalchemy.literal_column("*")).select_from(rows)
    return [everything] if filters is None else [everything.where(clause) for clause in filters]


def _load_directory(path: Path, source: SourceConfig, ranges: ReadRanges) -> LoadedSource:
    files = sorted(file.relative_to(path).as_posix() for file in path.rglob("*.csv") if file.is_file())
    if not files:
        raise DataError("no CSV files in the directory", file=str(path))
    streams, failures = [], {}
    for name in files:
        if not ranges.wants(name):
            continue
        try:
            table = _read_file(path / name)
            table.require([source.timestamp_column])
            columns = table.value_columns(source, exclude={source.timestamp_column})
            positions = np.arange(len(table.frame))
            parsed = parse_timestamps(table.frame[source.timestamp_column])
            stamps = _timestamps_at(table, source.timestamp_column, parsed, positions, stream=name)
            values = {column: parse_values(table.frame[column]) for column in columns}
            streams += _make_stream(table, name, positions, stamps, values, since=ranges.start_of(name))
        except DataError as exc:
            failures[name] = exc
    return LoadedSource(streams=streams, failures=failures)


def _split_long(table: _Table, source: SourceConfig, ranges: ReadRanges) -> LoadedSource:
    table.require([source.timestamp_column, source.stream_column])
    columns = table.value_columns(source, exclude={source.timestamp_column, source.stream_column})
    names = _stream_names(table, source.stream_column)
    timestamps = parse_timestamps(table.frame[source.timestamp_column])
    values = {column: parse_values(table.frame[column]) for column in columns}
    streams, failures = [], {}
    for name, positions in names.groupby(names.to_numpy(), sort=True).indices.items():
        if not ranges.wants(name):
            continue
        try:
            stamps = _timestamps_at(table, source.timestamp_column, timestamps, positions, stream=name)
            streams += _make_stream(table, name, positions, stamps, values, since=ranges.start_of(name))
        except DataError as exc:
            failures[name] = exc
    return LoadedSource(streams=streams, failures=failures)


def _stream_names(table: _Table, column: str) -> pd.Series:
    cells = table.frame[column]
    names = cells.astype(str).str.strip()
    missing = cells.isna().to_numpy() | (names == "").to_numpy()
    if missing.any():
        row = int(table.rows[np.argmax(missing)])
        raise DataError("missing stream name", file=table.origin, column=column, row=row)
    return names


def _split_wide(table: _Table, source: SourceConfig, ranges: ReadRanges) -> LoadedSource:
    """Each column a stream. A row whose cell is empty is no reading of that stream (streams of one
    table may be sampled at different times), so it is left out rather than kept as a missing value.
    The timestamps are shared, so a bad one fails the whole source."""
    table.require([source.timestamp_column])
    columns = table.value_columns(source, exclude={source.timestamp_column})
    timestamps = parse_timestamps(table.frame[source.timestamp_column])
    all_rows = np.arange(len(table.frame))
    stamps = _timestamps_at(table, source.timestamp_column, timestamps, all_rows, stream=None)
    streams, failures = [], {}
    for column in sorted(columns):
        if not ranges.wants(column):
            continue
        parsed = parse_values(table.frame[column])
        positions = np.flatnonzero(parsed.present)
        try:
            since = ranges.start_of(column)
            for stream in _make_stream(
                table, column, positions, stamps[positions], {column: parsed}, since=since
            ):
                streams.append(replace(stream, frame=stream.frame.rename(columns={column: WIDE_CHANNEL})))
        except DataError as exc:
            failures[column] = exc
    return LoadedSource(streams=streams, failures=failures)


def _timestamps_at(
    table: _Table, column: str, parsed: ParsedTimestamps, positions: np.ndarray, *, stream: str | None
) -> pd.DatetimeIndex:
    """The parsed timestamps of the rows at ``positions``; raises naming the first bad one among them."""
    bad = parsed.bad[positions]
    if bad.any():
        first = int(positions[np.argmax(bad)])
        raise DataError(
            timestamp_problem(table.frame[column].iloc[first], epoch=parsed.epoch),
            file=table.origin,
            stream=stream,
            column=column,
            row=int(table.rows[first]),
        )
    return parsed.values[positions]


def _make_stream(
    table: _Table,
    name: str,
    positions: np.ndarray,
    stamps: pd.DatetimeIndex,
    values: dict[str, ParsedValues],
    *,
    since: pd.Timestamp | None = None,
) -> list[RawStream]:
    """The stream made of the table rows at ``positions`` (whose timestamps are ``stamps``), from
    ``since`` on where given: a list of it. A stream with no row from ``since`` on is left out of a
    filtered read (it has nothing new), and kept whole from a complete table, as a whole read keeps
    it (a source that now holds only older rows still widens the stream's known span).

    Its channels are the value columns with at least one non-empty cell in those rows; raises naming
    the first bad cell among them, in row order.
    """
    if since is not None:
        recent = np.asarray(stamps >= since)
        if recent.any():
            positions, stamps = positions[recent], stamps[recent]
        elif table.complete:
            since = None
        else:
            return []
    channels = [column for column, parsed in values.items() if parsed.present[positions].any()]
    if not channels:
        raise DataError("no values: every value column is empty", file=table.origin, stream=name)
    first_bad = {
        column: positions[np.argmax(values[column].bad[positions])]
        for column in channels
        if values[column].bad[positions].any()
    }
    if first_bad:
        column = min(first_bad, key=lambda column: (first_bad[column], channels.index(column)))
        raise DataError(
            value_problem(table.frame[column].iloc[first_bad[column]]),
            file=table.origin,
            stream=name,
            column=column,
            row=int(table.rows[first_bad[column]]),
        )
    frame = pd.DataFrame(
        {"timestamp": stamps, **{column: values[column].values[positions] for column in channels}}
    )
    return [RawStream(name=name, frame=frame, rows=table.rows[positions], origin=table.origin, since=since)]
