"""Reading only the rows a run wants (``ReadRanges``): SQL filters, Parquet row groups, CSV cut after
parsing. Every source gives each stream exactly the rows at or after its start, and SQL and Parquet
are shown to leave the other rows in the source."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet
import pytest
import sqlalchemy

from anomaly.config import SourceConfig
from anomaly.data import LoadedSource, load_source
from anomaly.data.parquet_ranges import wanted_row_groups
from anomaly.data.ranges import ReadRanges, newest_first_buckets
from anomaly.data.sources import load_stream
from anomaly.errors import DataError

START = pd.Timestamp("2024-03-01", tz="UTC")
HOURS = 120


def long_frame() -> pd.DataFrame:
    """Three streams every 10 minutes over five days, in time order; 'stale' stops after half of it."""
    stamps = pd.date_range(START, periods=HOURS * 6, freq="10min")
    parts = []
    for place, name in enumerate(["a", "b", "stale"]):
        mine = stamps if name != "stale" else stamps[: len(stamps) // 2]
        values = (np.arange(len(mine)) + 1000 * place).astype(float).astype(str)
        parts.append(pd.DataFrame({"timestamp": mine, "stream": name, "value": values}))
    return pd.concat(parts).sort_values(["timestamp", "stream"], kind="stable").reset_index(drop=True)


SINCE = {"a": START + pd.Timedelta("110h05min"), "stale": START + pd.Timedelta("50h")}


def expected_rows(frame: pd.DataFrame, name: str, since: pd.Timestamp | None) -> pd.Series:
    mine = frame[frame.stream == name]
    if since is not None:
        mine = mine[mine.timestamp >= since]
    return mine.value.astype(float).reset_index(drop=True)


def assert_wanted_rows(loaded: LoadedSource, frame: pd.DataFrame, ranges: ReadRanges) -> None:
    """Every wanted stream loaded with exactly its rows from its start on; no unwanted one."""
    streams = {stream.name: stream for stream in loaded.streams}
    assert not loaded.failures
    assert sorted(streams) == sorted(name for name in frame.stream.unique() if ranges.wants(name))
    for name, stream in streams.items():
        since = ranges.start_of(name)
        assert stream.since == since
        pd.testing.assert_series_equal(
            stream.frame["value"].reset_index(drop=True), expected_rows(frame, name, since), check_names=False
        )


def sqlite_source(tmp_path: Path, frame: pd.DataFrame, timestamps: str) -> SourceConfig:
    """The frame as a SQLite table with its timestamps as ISO text, epoch seconds or offset text."""
    cells = {
        "iso": frame.timestamp.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "space": frame.timestamp.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "offset": frame.timestamp.dt.tz_convert("Etc/GMT+11").dt.strftime("%Y-%m-%dT%H:%M:%S-11:00"),
        "epoch": (frame.timestamp - pd.Timestamp(0, tz="UTC")) // pd.Timedelta("1s"),
    }[timestamps]
    path = tmp_path / "source.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE readings (timestamp, stream TEXT, value TEXT)")
        connection.executemany(
            "INSERT INTO readings VALUES (?, ?, ?)",
            zip(cells.tolist(), frame.stream, frame.value, strict=True),
        )
        connection.execute("CREATE INDEX readings_time ON readings (timestamp)")
    connection.close()
    return SourceConfig(url=f"sqlite:///{path}", table="readings")


@pytest.mark.parametrize("timestamps", ["iso", "space", "offset", "epoch"])
def test_sql_filters_give_each_stream_its_rows_from_its_start(tmp_path, timestamps):
    frame = long_frame()
    source = sqlite_source(tmp_path, frame, timestamps)
    ranges = ReadRanges(since=SINCE, whole=frozenset({"b"}))
    loaded = load_source(source, ranges)
    assert_wanted_rows(loaded, frame, ranges)
    # Rows are numbered in the result: the query returned 'b' whole and little of the others (text
    # is compared from a day earlier).
    read = max(stream.rows.max() for stream in loaded.streams)
    assert read < (frame.stream == "b").sum() + len(frame) / 3


def test_a_query_source_is_filtered_as_a_subquery(tmp_path):
    frame = long_frame()
    table = sqlite_source(tmp_path, frame, "iso")
    source = SourceConfig(url=table.url, query="SELECT timestamp, stream, value FROM readings;\n")
    ranges = ReadRanges(since=SINCE, whole=frozenset({"b"}), others=False)
    assert_wanted_rows(load_source(source, ranges), frame, ranges)


def test_streams_wanted_whole_and_nothing_else(tmp_path):
    frame = long_frame()
    source = sqlite_source(tmp_path, frame, "iso")
    ranges = ReadRanges(since={"a": SINCE["a"]}, whole=frozenset({"stale"}), others=False)
    assert_wanted_rows(load_source(source, ranges), frame, ranges)
    assert load_stream(source, "b").frame["value"].tolist() == expected_rows(frame, "b", None).tolist()
    with pytest.raises(DataError, match="no longer in the source"):
        load_stream(source, "gone")


def test_a_new_stream_is_found_by_its_recent_rows_and_read_whole(tmp_path):
    frame = long_frame()
    source = sqlite_source(tmp_path, frame, "iso")
    loaded = load_source(source, ReadRanges(since={"a": SINCE["a"]}))
    streams = {stream.name: stream for stream in loaded.streams}
    assert streams["b"].since is None and len(streams["b"].frame) == HOURS * 6
    # 'stale' has no row after 'a''s start: a run that knows only 'a' does not see it (no new data).
    assert "stale" not in streams


def test_postgresql_datetime_and_text_columns(postgres_url):
    frame = long_frame()
    engine = sqlalchemy.create_engine(postgres_url)
    frame.assign(timestamp=frame.timestamp).to_sql("native", engine, index=False)
    frame.assign(timestamp=frame.timestamp.dt.tz_localize(None)).to_sql("naive", engine, index=False)
    frame.assign(timestamp=frame.timestamp.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")).to_sql(
        "text", engine, index=False
    )
    engine.dispose()
    ranges = ReadRanges(since=SINCE)
    for table in ("native", "naive", "text"):
        assert_wanted_rows(load_source(SourceConfig(url=postgres_url, table=table), ranges), frame, ranges)


def write_parquet(path: Path, frame: pd.DataFrame, row_group_size: int) -> Path:
    frame.to_parquet(path, row_group_size=row_group_size)
    return path


@pytest.mark.parametrize("row_group_size", [37, 10_000])
def test_parquet_row_groups_give_each_stream_its_rows_from_its_start(tmp_path, row_group_size):
    frame = long_frame()
    path = write_parquet(tmp_path / "long.parquet", frame, row_group_size)
    ranges = ReadRanges(since=SINCE)
    loaded = load_source(SourceConfig(path=path), ranges)
    assert_wanted_rows(loaded, frame, ranges)
    rows = {stream.name: stream.rows for stream in loaded.streams}
    np.testing.assert_array_equal(rows["a"], np.flatnonzero(frame.stream == "a")[-len(rows["a"]) :] + 1)


def test_parquet_reads_only_the_row_groups_after_the_earliest_start(tmp_path):
    frame = long_frame()
    path = write_parquet(tmp_path / "long.parquet", frame, 50)
    parquet = pyarrow.parquet.ParquetFile(path)
    groups = wanted_row_groups(
        parquet, ReadRanges(since=SINCE), timestamp_column="timestamp", stream_column="stream", layout="long"
    )
    chunks = [frame[i : i + 50] for i in range(0, len(frame), 50)]
    # Groups after 'stale' stopped and before 'a''s start hold only rows of 'a' and of 'b', which is
    # new to the run and found by its rows after the latest start.
    expected = [
        number
        for number, chunk in enumerate(chunks)
        if chunk.timestamp.max() >= SINCE["a"]
        or ((chunk.stream == "stale").any() and chunk.timestamp.max() >= SINCE["stale"])
    ]
    assert groups == expected
    assert 0 < len(groups) < len(chunks) / 2


def test_parquet_rows_are_numbered_in_the_file_when_groups_are_skipped(tmp_path):
    frame = long_frame()
    frame.loc[len(frame) - 2, "value"] = "late-bad"
    path = write_parquet(tmp_path / "long.parquet", frame, 50)
    loaded = load_source(SourceConfig(path=path), ReadRanges(since={"a": SINCE["a"], "b": SINCE["a"]}))
    bad = frame.stream[len(frame) - 2]
    assert str(loaded.failures[bad]).endswith(f"row {len(frame) - 1}: non-numeric value 'late-bad'")


def test_wide_parquet_is_cut_by_time(tmp_path):
    stamps = pd.date_range(START, periods=HOURS * 6, freq="10min")
    frame = pd.DataFrame({"timestamp": stamps, "x": np.arange(len(stamps)), "y": -np.arange(len(stamps))})
    path = write_parquet(tmp_path / "wide.parquet", frame, 40)
    since = {"x": SINCE["a"], "y": SINCE["stale"]}
    loaded = load_source(SourceConfig(path=path), ReadRanges(since))
    streams = {stream.name: stream for stream in loaded.streams}
    for name in ("x", "y"):
        wanted = np.flatnonzero(stamps >= since[name])
        assert streams[name].frame["timestamp"].tolist() == stamps[wanted].tolist()
        np.testing.assert_array_equal(streams[name].rows, wanted + 1)


def test_csv_is_cut_after_parsing(tmp_path):
    frame = long_frame()
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    ranges = ReadRanges(since=SINCE)
    assert_wanted_rows(load_source(SourceConfig(path=path), ranges), frame, ranges)


def test_buckets_group_streams_by_the_hour_of_their_start_newest_first():
    since = {
        "a": START + pd.Timedelta("5h10min"),
        "b": START + pd.Timedelta("5h50min"),
        "c": START + pd.Timedelta("1h"),
    }
    assert newest_first_buckets(since, pd.Timedelta("1h")) == [
        (START + pd.Timedelta("5h"), ["a", "b"]),
        (START + pd.Timedelta("1h"), ["c"]),
    ]
