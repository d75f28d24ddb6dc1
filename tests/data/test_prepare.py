"""Preparation: each case of dirty data is handled and counted, or rejected with a clear message."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anomaly.config import PreparationConfig, SourceConfig
from anomaly.data import PreparedStream, RawStream, load_source, prepare_stream
from anomaly.data.prepare import preparation_reach
from anomaly.data.types import GridAnchor
from anomaly.errors import DataError

START = pd.Timestamp("2024-01-01", tz="UTC")
MINUTE = pd.Timedelta("1min")


def raw_stream(minutes, **channels) -> RawStream:
    """A stream with rows at ``START + minutes``; channels default to one ``value`` counting rows."""
    stamps = START + pd.to_timedelta(np.asarray(minutes, dtype=float), unit="min")
    channels = channels or {"value": np.arange(len(stamps), dtype=float)}
    frame = pd.DataFrame(
        {"timestamp": stamps, **{name: np.asarray(v, float) for name, v in channels.items()}}
    )
    return RawStream("s", frame, np.arange(len(frame)) + 2, "test.csv")


def prepare(raw: RawStream, window_length: int = 2, **config) -> PreparedStream:
    return prepare_stream(raw, PreparationConfig(**config), window_length=window_length)


def assert_segments_are_regular(prepared: PreparedStream) -> None:
    """Consecutive rows of one segment are exactly one step apart; segments are numbered 0, 1, ..."""
    steps = np.diff(prepared.values.index.asi8)
    same_segment = np.diff(prepared.segment) == 0
    assert np.all(steps[same_segment] == prepared.frequency.value)
    assert np.all(steps[~same_segment] > prepared.frequency.value)
    assert np.all(np.diff(prepared.segment) >= 0)
    assert set(prepared.segment) == set(range(prepared.segment.max() + 1))


def test_clean_series_passes_unchanged():
    prepared = prepare(raw_stream(range(10)))

    assert prepared.frequency == MINUTE
    assert prepared.values.index.name == "timestamp"
    assert str(prepared.values.index.dtype) == "datetime64[ns, UTC]"
    assert prepared.values.dtypes.tolist() == [np.float64]
    np.testing.assert_array_equal(prepared.values["value"], np.arange(10))
    np.testing.assert_array_equal(prepared.segment, np.zeros(10))
    assert prepared.report.summary() == "10 rows"


def test_unsorted_rows_are_sorted_and_counted():
    prepared = prepare(raw_stream([0, 2, 1, 3, 5, 4], value=[0, 2, 1, 3, 5, 4]))

    np.testing.assert_array_equal(prepared.values["value"], np.arange(6))
    assert prepared.report.unsorted_rows == 2


def test_duplicate_timestamps_are_averaged_ignoring_missing_values():
    prepared = prepare(raw_stream([0, 1, 1, 1, 2], a=[0, 1, 3, np.nan, 2], b=[0, np.nan, 5, np.nan, 2]))

    np.testing.assert_array_equal(prepared.values["a"], [0, 2, 2])
    np.testing.assert_array_equal(prepared.values["b"], [0, 5, 2])
    assert prepared.report.duplicate_timestamps == 2
    assert prepared.report.missing_values == 0


def test_frequency_is_inferred_as_the_median_interval_in_whole_seconds():
    seconds = np.array([0, 300.4, 600.2, 900.6, 1200]) / 60

    prepared = prepare(raw_stream(seconds))

    assert prepared.frequency == pd.Timedelta("5min")


def test_given_frequency_is_used():
    prepared = prepare(raw_stream(range(0, 20, 2)), frequency="1min", max_interpolated_gap=1)

    assert prepared.frequency == MINUTE
    assert len(prepared.values) == 19
    assert prepared.report.interpolated_steps == 9


@pytest.mark.parametrize("frequency", ["often", "-5min", "0s"])
def test_invalid_frequency_is_rejected(frequency):
    with pytest.raises(DataError) as caught:
        prepare(raw_stream(range(5)), frequency=frequency)

    assert str(caught.value) == (
        f"test.csv, stream 's': invalid frequency {frequency!r}: expected a positive interval such as "
        "'5min' or 'auto'"
    )


def test_sub_second_sampling_asks_for_a_frequency():
    with pytest.raises(DataError, match=r"less than a second apart; set preparation\.frequency"):
        prepare(raw_stream(np.arange(10) * 0.1 / 60))

    prepared = prepare(raw_stream(np.arange(10) * 0.1 / 60), frequency="100ms")
    assert len(prepared.values) == 10


def test_irregular_timestamps_are_resampled_to_the_grid():
    # Rows every minute plus a few seconds of jitter, and one extra reading inside the third step.
    seconds = np.array([0, 62, 121, 150, 183, 241, 300])

    prepared = prepare(raw_stream(seconds / 60, value=[0, 1, 2, 4, 3, 4, 5]), frequency="1min")

    assert prepared.report.resampled
    assert prepared.frequency == MINUTE
    assert_segments_are_regular(prepared)
    assert prepared.values.index[0] == START
    np.testing.assert_array_equal(prepared.values["value"], [0, 1, 3, 3, 4, 5])


def test_short_gaps_are_interpolated_linearly():
    minutes = [0, 1, 2, 5, 6, 7, 8]  # steps 3 and 4 have no row
    values = [0, 1, 2, 5, np.nan, 7, 8]

    prepared = prepare(raw_stream(minutes, value=values), max_interpolated_gap=2)

    np.testing.assert_allclose(prepared.values["value"], np.arange(9))
    np.testing.assert_array_equal(prepared.segment, np.zeros(9))
    assert prepared.report.interpolated_steps == 3
    assert prepared.report.missing_values == 3
    assert prepared.report.long_gaps == 0


def test_interpolation_is_per_channel():
    prepared = prepare(
        raw_stream(range(6), a=[0, np.nan, 2, 3, 4, 5], b=[0, 1, 2, np.nan, np.nan, 5]),
        max_interpolated_gap=2,
    )

    np.testing.assert_allclose(prepared.values["a"], np.arange(6))
    np.testing.assert_allclose(prepared.values["b"], np.arange(6))
    assert prepared.report.interpolated_steps == 3
    assert prepared.report.missing_values == 3


def test_long_gap_splits_the_series_and_no_segment_spans_it():
    minutes = [*range(10), *range(20, 30), *range(40, 50)]

    prepared = prepare(raw_stream(minutes), max_interpolated_gap=3)

    assert prepared.report.long_gaps == 2
    assert prepared.report.missing_values == 20
    assert prepared.report.interpolated_steps == 0
    np.testing.assert_array_equal(np.bincount(prepared.segment), [10, 10, 10])
    assert_segments_are_regular(prepared)


def test_long_run_of_missing_values_in_one_channel_drops_those_rows():
    b = np.arange(20, dtype=float)
    b[8:13] = np.nan

    prepared = prepare(raw_stream(range(20), a=np.arange(20), b=b), max_interpolated_gap=4)

    assert prepared.report.long_gaps == 1
    assert not prepared.values.isna().any().any()
    np.testing.assert_array_equal(prepared.values["a"], [*range(8), *range(13, 20)])
    assert_segments_are_regular(prepared)


def test_missing_values_at_the_ends_are_trimmed_not_interpolated():
    values = [np.nan, np.nan, 2, 3, 4, 5, np.nan]

    prepared = prepare(raw_stream(range(7), value=values), max_interpolated_gap=3)

    np.testing.assert_array_equal(prepared.values["value"], [2, 3, 4, 5])
    assert prepared.values.index[0] == START + 2 * MINUTE
    assert prepared.report.missing_values == 3
    assert prepared.report.interpolated_steps == 0
    assert prepared.report.long_gaps == 0


def test_run_next_to_a_long_gap_is_not_interpolated():
    # Step 9's value is missing and steps 10..19 have no row: one gap of 11 steps, not a fillable one.
    minutes = [*range(10), *range(20, 30)]
    values = [*range(9), np.nan, *range(20, 30)]

    prepared = prepare(raw_stream(minutes, value=values), max_interpolated_gap=2)

    assert prepared.report.interpolated_steps == 0
    assert prepared.report.long_gaps == 1
    np.testing.assert_array_equal(np.bincount(prepared.segment), [9, 10])
    assert_segments_are_regular(prepared)


def test_segments_shorter_than_a_window_are_dropped():
    minutes = [*range(10), *range(20, 23), *range(40, 50)]

    prepared = prepare(raw_stream(minutes), window_length=5, max_interpolated_gap=0)

    assert prepared.report.dropped_short_segments == 1
    assert prepared.report.long_gaps == 2
    np.testing.assert_array_equal(np.bincount(prepared.segment), [10, 10])
    assert_segments_are_regular(prepared)


def test_series_shorter_than_a_window_is_rejected():
    minutes = [*range(5), *range(10, 16)]

    with pytest.raises(DataError) as caught:
        prepare(raw_stream(minutes), window_length=8, max_interpolated_gap=1)

    assert str(caught.value) == (
        "test.csv, stream 's': 11 usable rows after preparation (longest gap-free stretch 6), "
        "fewer than the window length 8"
    )


def test_all_missing_values_is_rejected():
    with pytest.raises(DataError, match="0 usable rows after preparation"):
        prepare(raw_stream(range(5), value=[np.nan] * 5))


def test_fewer_than_two_distinct_timestamps_is_rejected():
    with pytest.raises(DataError, match="1 distinct timestamp"):
        prepare(raw_stream([0, 0, 0]))


def test_constant_channel_is_recorded_not_rejected():
    prepared = prepare(raw_stream(range(6), flat=[3] * 6, moving=range(6)))

    assert prepared.report.constant_channels == ("flat",)
    assert prepared.channels == ["flat", "moving"]


def test_report_summary_lists_what_happened():
    minutes = [0, 2, 1, 1, 3, 4, 6, *range(20, 30)]

    report = prepare(raw_stream(minutes)).report

    assert report.summary() == (
        "17 rows; 1 out of order; 1 duplicate timestamps aggregated; 14 missing values; "
        "1 steps interpolated; 1 long gaps split the series"
    )


def test_loaded_multivariate_stream_prepares(tmp_path: Path):
    lines = ["timestamp,stream,value,pressure,flow"]
    lines += [f"{60 * i},pump,{i},," for i in range(8)]
    lines += [f"{60 * i},plant,,{i},{2 * i}" for i in range(8) if i != 3]
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    loaded = load_source(SourceConfig(path=path))
    prepared = {raw.name: prepare(raw, window_length=4) for raw in loaded.streams}

    assert prepared["plant"].channels == ["pressure", "flow"]
    np.testing.assert_allclose(prepared["plant"].values["flow"], 2 * np.arange(8))
    assert prepared["pump"].channels == ["value"]
    assert prepared["plant"].report.interpolated_steps == 1


def test_a_million_rows_prepare_in_seconds():
    rows = 1_000_000
    rng = np.random.default_rng(0)
    minutes = np.arange(rows, dtype=float)
    minutes[1000:1010] = minutes[1000:1010][::-1]
    values = rng.normal(size=(rows, 2))
    values[rng.random(values.shape) < 0.01] = np.nan
    values[[0, 499_999, 500_100, -1]] = 1.0
    values[500_000:500_100] = np.nan
    raw = raw_stream(minutes, a=values[:, 0], b=values[:, 1])

    started = time.perf_counter()
    prepared = prepare(raw, window_length=48)
    elapsed = time.perf_counter() - started

    assert prepared.report.long_gaps == 1
    assert len(prepared.values) == rows - 100
    assert elapsed < 10, f"preparing {rows} rows took {elapsed:.1f} s"


def _traffic_like(n_rows: int = 2500, seed: int = 0) -> pd.DataFrame:
    """A sensor reporting every 5 to 15 minutes, with a gap of 30 minutes to a day after one report in
    six: NAB's traffic series, which no 10-minute grid holds a window of."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([5, 10, 15], size=n_rows) * 60
    gaps = rng.random(n_rows) < 1 / 6
    steps[gaps] = rng.uniform(30 * 60, 86400, size=gaps.sum())
    stamps = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.cumsum(steps), unit="s")
    return pd.DataFrame(
        {"timestamp": stamps, "value": np.sin(np.arange(n_rows) / 20) + rng.normal(0, 0.1, n_rows)}
    )


def test_an_irregular_series_with_frequent_gaps_is_put_on_a_coarser_grid_not_rejected():
    frame = _traffic_like()
    raw = RawStream(name="traffic", frame=frame, rows=np.arange(2, len(frame) + 2), origin="traffic.csv")
    prepared = prepare_stream(raw, PreparationConfig(), window_length=48)
    assert prepared.frequency > pd.Timedelta("10min")
    assert prepared.report.resampled and "sampled irregularly" in prepared.report.summary()
    assert len(prepared.values) >= 4 * 48
    # A fixed frequency is the user's choice: kept, and the series rejected with the reason.
    with pytest.raises(DataError, match="fewer than the window length"):
        prepare_stream(raw, PreparationConfig(frequency="10min"), window_length=48)


def test_a_regular_series_keeps_its_own_step():
    frame = _traffic_like().assign(
        timestamp=pd.date_range("2026-01-01", periods=2500, freq="10min", tz="UTC")
    )
    raw = RawStream(name="regular", frame=frame, rows=np.arange(2, 2502), origin="regular.csv")
    prepared = prepare_stream(raw, PreparationConfig(), window_length=48)
    assert prepared.frequency == pd.Timedelta("10min") and prepared.report.notes == ()


def _dirty_minutes_and_values(seed: int, n: int = 3000) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Rows about a minute apart with every kind of dirt: off-grid times, duplicates, missing cells in
    one channel, short gaps that are filled and long ones that split the series."""
    rng = np.random.default_rng(seed)
    minutes = np.arange(n, dtype=float) + rng.choice([0.0, 0.25], n, p=[0.9, 0.1])
    keep = rng.random(n) > 0.08  # short gaps
    for start in rng.choice(n - 40, 12, replace=False):  # long gaps of 5 to 30 steps
        keep[start : start + rng.integers(5, 30)] = False
    minutes = minutes[keep]
    duplicates = rng.choice(len(minutes), 40, replace=False)
    minutes = np.concatenate([minutes, minutes[duplicates]])
    a = rng.normal(size=len(minutes))
    b = rng.normal(size=len(minutes))
    b[rng.random(len(minutes)) < 0.05] = np.nan
    return minutes, {"a": a, "b": b}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_end_of_a_stream_on_its_earlier_grid_prepares_as_the_whole_stream(seed):
    """What a scheduled run relies on when it reads only the end of a source: past
    ``preparation_reach`` steps after the first row read, the rows, values and segment boundaries are
    those of the whole stream, wherever the read starts."""
    config = PreparationConfig(max_interpolated_gap=3)
    window = 16
    minutes, channels = _dirty_minutes_and_values(seed)
    whole = prepare_stream(raw_stream(minutes, **channels), config, window_length=window)
    reach = preparation_reach(config, window)
    index = whole.values.index
    anchor = GridAnchor(step=whole.frequency, origin=index[len(index) // 2])
    rng = np.random.default_rng(seed)
    for read_from in START + MINUTE * rng.integers(0, 2900, 40):
        if read_from > index[-1] - whole.frequency * (reach + 1):
            continue
        rows = START + pd.to_timedelta(minutes, unit="min") >= read_from
        end = raw_stream(minutes[rows], **{name: v[rows] for name, v in channels.items()})
        part = prepare_stream(end, config, window_length=window, grid=anchor)
        exact_from = read_from + whole.frequency * reach
        expected = whole.values[index >= exact_from]
        got = part.values[part.values.index >= exact_from]
        pd.testing.assert_frame_equal(got, expected, check_freq=False)
        same_segment = np.diff(whole.segment[index >= exact_from]) == 0
        part_same_segment = np.diff(part.segment[part.values.index >= exact_from]) == 0
        np.testing.assert_array_equal(part_same_segment, same_segment)
        assert_segments_are_regular(part)


def test_a_grid_anchor_fixes_step_and_origin():
    raw = raw_stream([0.5, 1.5, 2.5, 3.5, 4.5])
    anchored = prepare_stream(
        raw, PreparationConfig(), window_length=2, grid=GridAnchor(step=2 * MINUTE, origin=START)
    )
    assert list(anchored.values.index) == [START, START + 2 * MINUTE, START + 4 * MINUTE]
    assert anchored.report.resampled
    np.testing.assert_array_equal(anchored.values["value"], [0.5, 2.5, 4.0])  # the rows of each bin, averaged
