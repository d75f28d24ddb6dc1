"""Loading every layout, and the exact place (file, stream, column, row) named by each rejection."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anomaly.config import SourceConfig
from anomaly.data import LoadedSource, detect_layout, load_source
from anomaly.errors import DataError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def load(path: Path, **options) -> LoadedSource:
    return load_source(SourceConfig(path=path, **options))


def by_name(loaded: LoadedSource) -> dict:
    return {stream.name: stream for stream in loaded.streams}


LONG_CSV = """
    timestamp,stream,value
    2024-01-01T00:00:00,pump,1.0
    2024-01-01T00:00:00,fan,10
    2024-01-01T00:05:00,pump,2.5
    2024-01-01T00:05:00,fan,NA
    2024-01-01T00:10:00,pump,
"""


def test_long_csv_gives_one_stream_per_name_sorted(tmp_path):
    path = write(tmp_path / "sensors.csv", LONG_CSV)

    loaded = load(path)

    assert [stream.name for stream in loaded.streams] == ["fan", "pump"]
    assert loaded.failures == {}
    pump = by_name(loaded)["pump"]
    assert pump.channels == ["value"]
    assert str(pump.frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    np.testing.assert_array_equal(pump.frame["value"], [1.0, 2.5, np.nan])
    np.testing.assert_array_equal(pump.rows, [2, 4, 6])
    assert pump.origin == str(path)
    assert detect_layout(path, SourceConfig(path=path)) == "long"


def test_missing_tokens_are_missing_values(tmp_path):
    rows = ["", "NA", "NaN", "nan", "null", "NULL", "None", " 3 "]
    text = "timestamp,stream,value\n" + "".join(f"{i},s,{cell}\n" for i, cell in enumerate(rows))
    path = write(tmp_path / "tokens.csv", text)

    (stream,) = load(path).streams

    np.testing.assert_array_equal(stream.frame["value"], [np.nan] * 7 + [3.0])


def test_long_table_with_univariate_and_multivariate_streams(tmp_path):
    path = write(
        tmp_path / "mixed.csv",
        """
        timestamp,stream,value,pressure,flow,temperature
        2024-01-01T00:00:00,a,1,,,
        2024-01-01T00:00:00,plant,,5,6,7
        2024-01-01T00:01:00,a,2,,,
        2024-01-01T00:01:00,plant,,5.5,,7.5
        2024-01-01T00:01:00,b,3,,,
        """,
    )

    streams = by_name(load(path))

    assert streams["a"].channels == ["value"]
    assert streams["b"].channels == ["value"]
    assert streams["plant"].channels == ["pressure", "flow", "temperature"]
    np.testing.assert_array_equal(streams["plant"].frame["flow"], [6.0, np.nan])


def test_configured_value_columns_pick_the_channels(tmp_path):
    path = write(
        tmp_path / "mixed.csv",
        """
        timestamp,stream,pressure,flow,note
        0,plant,1,2,ok
        60,plant,1,2,ok
        """,
    )

    (stream,) = load(path, value_columns=("flow", "pressure")).streams

    assert stream.channels == ["flow", "pressure"]


def test_wide_csv_gives_one_univariate_stream_per_column(tmp_path):
    path = write(
        tmp_path / "wide.csv",
        """
        timestamp,north,south
        2024-01-01T00:00:00,1,10
        2024-01-01T00:10:00,2,
        2024-01-01T00:20:00,3,30
        """,
    )

    loaded = load(path)

    assert detect_layout(path, SourceConfig(path=path)) == "wide"
    streams = by_name(loaded)
    assert list(streams) == ["north", "south"]
    assert streams["north"].channels == ["value"]
    # An empty cell in a wide table is no reading of that stream, not a missing value.
    np.testing.assert_array_equal(streams["south"].frame["value"], [10.0, 30.0])
    np.testing.assert_array_equal(streams["south"].rows, [2, 4])


def test_wide_bad_column_fails_only_its_stream(tmp_path):
    path = write(
        tmp_path / "wide.csv",
        """
        timestamp,north,south,empty
        2024-01-01T00:00:00,1,10,
        2024-01-01T00:10:00,2,oops,
        """,
    )

    loaded = load(path)

    assert [stream.name for stream in loaded.streams] == ["north"]
    assert set(loaded.failures) == {"south", "empty"}
    assert str(loaded.failures["south"]) == (
        f"{path}, stream 'south', column 'south', row 3: non-numeric value 'oops'"
    )
    assert str(loaded.failures["empty"]) == f"{path}, stream 'empty': no values: every value column is empty"


def test_wide_bad_timestamp_fails_the_whole_source(tmp_path):
    path = write(
        tmp_path / "wide.csv",
        """
        timestamp,north,south
        2024-01-01T00:00:00,1,10
        yesterday,2,20
        """,
    )

    with pytest.raises(DataError) as caught:
        load(path)

    assert str(caught.value) == (
        f"{path}, column 'timestamp', row 3: invalid timestamp 'yesterday' "
        "(expected ISO 8601 or epoch seconds)"
    )


def test_directory_of_csv_files_names_streams_by_relative_path(tmp_path):
    write(tmp_path / "realKnownCause" / "nyc_taxi.csv", "timestamp,value\n0,1\n60,2\n")
    write(tmp_path / "artificial" / "flat.csv", "timestamp,value\n0,5\n60,5\n")
    write(tmp_path / "readme.txt", "not data")

    loaded = load(tmp_path)

    assert detect_layout(tmp_path, SourceConfig(path=tmp_path)) == "directory"
    assert [stream.name for stream in loaded.streams] == [
        "artificial/flat.csv",
        "realKnownCause/nyc_taxi.csv",
    ]
    taxi = by_name(loaded)["realKnownCause/nyc_taxi.csv"]
    assert taxi.origin == str(tmp_path / "realKnownCause" / "nyc_taxi.csv")
    assert taxi.channels == ["value"]


def test_directory_bad_file_is_one_failed_stream(tmp_path):
    write(tmp_path / "good.csv", "timestamp,value\n0,1\n60,2\n")
    bad = write(tmp_path / "sub" / "bad.csv", "timestamp,value\n0,1\n60,x\n")
    write(tmp_path / "headeronly.csv", "timestamp,value\n")
    write(tmp_path / "wrong.csv", "time,value\n0,1\n")

    loaded = load(tmp_path)

    assert [stream.name for stream in loaded.streams] == ["good.csv"]
    assert set(loaded.failures) == {"sub/bad.csv", "headeronly.csv", "wrong.csv"}
    assert str(loaded.failures["sub/bad.csv"]) == (
        f"{bad}, stream 'sub/bad.csv', column 'value', row 3: non-numeric value 'x'"
    )
    assert "no data rows" in str(loaded.failures["headeronly.csv"])
    assert "missing column 'timestamp' (columns found: 'time', 'value')" in str(loaded.failures["wrong.csv"])


def test_directory_without_csv_files_is_rejected(tmp_path):
    write(tmp_path / "notes.txt", "nothing here")

    with pytest.raises(DataError, match="no CSV files in the directory"):
        load(tmp_path)


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet_long_and_wide(tmp_path, suffix):
    stamps = pd.date_range("2024-01-01", periods=3, freq="1h")
    long_path = tmp_path / f"long{suffix}"
    pd.DataFrame({"timestamp": stamps, "stream": ["a", "b", "a"], "value": [1.0, 2.0, 3.0]}).to_parquet(
        long_path
    )
    wide_path = tmp_path / f"wide{suffix}"
    pd.DataFrame({"timestamp": stamps.tz_localize("Europe/Paris"), "x": [1, 2, 3]}).to_parquet(wide_path)

    long = by_name(load(long_path))
    (wide,) = load(wide_path).streams

    np.testing.assert_array_equal(long["a"].frame["value"], [1.0, 3.0])
    np.testing.assert_array_equal(long["a"].rows, [1, 3])
    assert str(long["a"].frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert long["a"].frame["timestamp"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert wide.frame["timestamp"].iloc[0] == pd.Timestamp("2023-12-31T23:00", tz="UTC")
    assert detect_layout(long_path, SourceConfig(path=long_path)) == "long"
    assert detect_layout(wide_path, SourceConfig(path=wide_path)) == "wide"


def test_parquet_rows_are_counted_from_one(tmp_path):
    path = tmp_path / "long.parquet"
    pd.DataFrame(
        {
            "timestamp": ["2024-01-01T00:00:00", "2024-01-01T00:01:00"],
            "stream": ["a", "a"],
            "value": ["1", "z"],
        }
    ).to_parquet(path)

    loaded = load(path)

    assert str(loaded.failures["a"]) == f"{path}, stream 'a', column 'value', row 2: non-numeric value 'z'"


def make_sqlite(path: Path) -> Path:
    with sqlite3.connect(path) as connection:
        connection.execute('CREATE TABLE "sensor readings" (timestamp TEXT, stream TEXT, value REAL)')
        connection.executemany(
            'INSERT INTO "sensor readings" VALUES (?, ?, ?)',
            [
                ("2024-01-01T00:00:00+01:00", "pump", 1.0),
                ("2024-01-01T00:05:00+01:00", "pump", 2.0),
                ("2024-01-01T00:00:00Z", "fan", None),
                ("2024-01-01T00:05:00Z", "fan", 4.0),
            ],
        )
    connection.close()
    return path


def test_sql_table_source(tmp_path):
    database = make_sqlite(tmp_path / "readings.db")

    loaded = load_source(SourceConfig(url=f"sqlite:///{database}", table="sensor readings"))

    streams = by_name(loaded)
    assert list(streams) == ["fan", "pump"]
    pump = streams["pump"]
    assert pump.origin == f"sql:sqlite:///{database}"
    assert pump.frame["timestamp"].iloc[0] == pd.Timestamp("2023-12-31T23:00", tz="UTC")
    np.testing.assert_array_equal(pump.rows, [1, 2])
    np.testing.assert_array_equal(streams["fan"].frame["value"], [np.nan, 4.0])


def test_sql_query_source(tmp_path):
    database = make_sqlite(tmp_path / "readings.db")
    query = "SELECT timestamp, stream, value * 10 AS value FROM \"sensor readings\" WHERE stream = 'pump'"

    loaded = load_source(SourceConfig(url=f"sqlite:///{database}", query=query))

    (pump,) = loaded.streams
    np.testing.assert_array_equal(pump.frame["value"], [10.0, 20.0])


def test_sql_missing_table_and_bad_query_are_one_line_errors(tmp_path):
    database = make_sqlite(tmp_path / "readings.db")
    url = f"sqlite:///{database}"

    with pytest.raises(DataError) as missing:
        load_source(SourceConfig(url=url, table="nope"))
    with pytest.raises(DataError) as bad:
        load_source(SourceConfig(url=url, query="SELEC nonsense"))

    assert str(missing.value) == f"sql:{url}: reading table 'nope' failed: no such table: nope"
    assert str(bad.value).startswith(f"sql:{url}: query failed: ")
    assert "\n" not in str(bad.value)


def test_sql_missing_sqlite_file_is_not_created(tmp_path):
    database = tmp_path / "typo.db"

    with pytest.raises(DataError, match="database file not found"):
        load_source(SourceConfig(url=f"sqlite:///{database}", table="readings"))

    assert not database.exists()


def test_unreachable_database_error_hides_the_password():
    url = "postgresql+psycopg://reader:s3cret@127.0.0.1:1/sensors"

    with pytest.raises(DataError) as caught:
        load_source(SourceConfig(url=url, table="readings"))

    message = str(caught.value)
    assert message.startswith("sql:postgresql+psycopg://reader:***@127.0.0.1:1/sensors: cannot connect")
    assert "s3cret" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1704067200", "2024-01-01T00:00:00"),
        ("1704067200.5", "2024-01-01T00:00:00.5"),
        ("2024-01-01T00:00:00", "2024-01-01T00:00:00"),
        ("2024-01-01 00:00:00", "2024-01-01T00:00:00"),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00"),
        ("2024-01-01T02:00:00+02:00", "2024-01-01T00:00:00"),
        ("2023-12-31T19:00:00-05:00", "2024-01-01T00:00:00"),
    ],
)
def test_timestamp_forms_become_utc(tmp_path, cell, expected):
    path = write(tmp_path / "one.csv", f"timestamp,value\n{cell},1\n")

    (stream,) = load(path).streams

    assert stream.frame["timestamp"].iloc[0] == pd.Timestamp(expected, tz="UTC")


def test_mixed_offsets_in_one_column(tmp_path):
    path = write(
        tmp_path / "offsets.csv",
        """
        timestamp,value
        2024-01-01T00:00:00,1
        2024-01-01T01:05:00+01:00,2
        2024-01-01T00:10:00Z,3
        """,
    )

    (stream,) = load(path).streams

    assert list(stream.frame["timestamp"].diff().dropna().dt.total_seconds()) == [300.0, 300.0]


def test_bad_value_fails_only_its_stream_naming_file_column_and_row(tmp_path):
    path = write(
        tmp_path / "sample.csv",
        """
        timestamp,stream,value
        2024-01-01T00:00:00,pump,1
        2024-01-01T00:00:00,fan,1
        2024-01-01T00:05:00,pump,abc
        2024-01-01T00:05:00,fan,2
        2024-01-01T00:10:00,pump,inf
        """,
    )

    loaded = load(path)

    assert [stream.name for stream in loaded.streams] == ["fan"]
    error = loaded.failures["pump"]
    assert str(error) == f"{path}, stream 'pump', column 'value', row 4: non-numeric value 'abc'"
    assert (error.file, error.stream, error.column, error.row) == (str(path), "pump", "value", 4)


def test_first_bad_cell_is_reported_in_row_order_across_channels(tmp_path):
    path = write(
        tmp_path / "multi.csv",
        """
        timestamp,stream,a,b
        0,s,1,1
        60,s,1,bad
        120,s,worse,1
        """,
    )

    error = load(path).failures["s"]

    assert (error.column, error.row) == ("b", 3)


def test_infinite_value_is_rejected(tmp_path):
    path = write(tmp_path / "inf.csv", "timestamp,value\n0,1\n60,-inf\n")

    error = load(path).failures["value"]

    assert str(error) == f"{path}, stream 'value', column 'value', row 3: non-finite value '-inf'"


def test_bad_timestamp_fails_only_its_stream(tmp_path):
    path = write(
        tmp_path / "sample.csv",
        """
        timestamp,stream,value
        2024-01-01T00:00:00,pump,1
        2024-01-01T00:00:00,fan,1
        2024-13-01T00:05:00,pump,2
        ,fan,2
        """,
    )

    loaded = load(path)

    assert loaded.streams == []
    assert str(loaded.failures["pump"]) == (
        f"{path}, stream 'pump', column 'timestamp', row 4: invalid timestamp '2024-13-01T00:05:00' "
        "(expected ISO 8601 or epoch seconds)"
    )
    assert (
        str(loaded.failures["fan"]) == f"{path}, stream 'fan', column 'timestamp', row 5: missing timestamp"
    )


def test_epoch_column_with_a_stray_date_names_that_cell(tmp_path):
    path = write(tmp_path / "epoch.csv", "timestamp,stream,value\n0,s,1\n60,s,1\n2024-01-01,s,1\n")

    error = load(path).failures["s"]

    assert error.row == 4
    assert "invalid timestamp '2024-01-01' (expected epoch seconds, as the rest of the column)" in str(error)


def test_blank_lines_are_skipped_but_counted_in_row_numbers(tmp_path):
    path = write(tmp_path / "blank.csv", "timestamp,stream,value\n0,s,1\n\n60,s,x\n")

    error = load(path).failures["s"]

    assert error.row == 4


def test_missing_stream_name_fails_the_source(tmp_path):
    path = write(tmp_path / "names.csv", "timestamp,stream,value\n0,s,1\n60, ,2\n")

    with pytest.raises(DataError) as caught:
        load(path)

    assert str(caught.value) == f"{path}, column 'stream', row 3: missing stream name"


def test_stream_with_only_empty_values_fails_alone(tmp_path):
    path = write(tmp_path / "empty.csv", "timestamp,stream,value\n0,a,1\n0,b,\n60,b,NA\n")

    loaded = load(path)

    assert [stream.name for stream in loaded.streams] == ["a"]
    assert "no values: every value column is empty" in str(loaded.failures["b"])


@pytest.mark.parametrize(
    ("text", "options", "problem"),
    [
        ("", {}, "empty file: no header row"),
        ("timestamp,stream,value\n", {}, "no data rows"),
        (
            "time,stream,value\n0,a,1\n",
            {},
            "missing column 'timestamp' (columns found: 'time', 'stream', 'value')",
        ),
        (
            "timestamp,value\n0,1\n",
            {"layout": "long"},
            "missing column 'stream' (columns found: 'timestamp', 'value')",
        ),
        ("timestamp,stream\n0,a\n", {}, "no value columns (columns found: 'timestamp', 'stream')"),
        (
            "timestamp,stream,value\n0,a,1\n",
            {"value_columns": ("flow",)},
            "missing column 'flow' (columns found: 'timestamp', 'stream', 'value')",
        ),
        ("timestamp,value\n0,1,2\n", {}, "the data rows have more fields than the header"),
        ("timestamp,value\n0,1\n60,1,2\n", {}, "not a readable CSV file: Error tokenizing data."),
    ],
)
def test_whole_source_rejections_name_the_file(tmp_path, text, options, problem):
    path = write(tmp_path / "data.csv", text)

    with pytest.raises(DataError) as caught:
        load(path, **options)

    assert str(caught.value).startswith(f"{path}: {problem}")
    assert caught.value.file == str(path)


def test_missing_path_is_rejected(tmp_path):
    path = tmp_path / "nowhere.csv"

    with pytest.raises(DataError, match=r"nowhere\.csv: file or directory not found"):
        load(path)
    with pytest.raises(DataError, match="file or directory not found"):
        detect_layout(path, SourceConfig(path=path))


def test_layout_must_match_the_path_kind(tmp_path):
    path = write(tmp_path / "data.csv", "timestamp,value\n0,1\n")

    with pytest.raises(DataError, match="needs a directory"):
        load(path, layout="directory")
    with pytest.raises(DataError, match="needs a file"):
        load(tmp_path, layout="wide")


def test_explicit_layout_wins_over_detection(tmp_path):
    path = write(tmp_path / "data.csv", "timestamp,stream,value\n0,a,1\n")

    assert detect_layout(path, SourceConfig(path=path, layout="wide")) == "wide"


def test_parquet_epoch_seconds_and_unreadable_file(tmp_path):
    good = tmp_path / "epoch.parquet"
    pd.DataFrame({"timestamp": [1704067200, 1704067260], "value": [1.0, 2.0]}).to_parquet(good)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")

    (stream,) = load(good).streams

    assert stream.frame["timestamp"].iloc[1] == pd.Timestamp("2024-01-01T00:01", tz="UTC")
    with pytest.raises(DataError, match=r"broken\.parquet: not a readable Parquet file"):
        load(broken)


def test_invalid_database_url_is_rejected():
    with pytest.raises(DataError, match="invalid database URL"):
        load_source(SourceConfig(url="not a url", table="readings"))
