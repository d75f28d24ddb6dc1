"""Which row groups of a Parquet file hold rows a ``ReadRanges`` wants, from the groups' statistics.

A group is skipped only when its statistics prove it holds nothing wanted: the latest time in it is
before the start of every stream its names range covers (long layout) or of every stream (wide), and
it cannot hold a stream wanted whole nor, where other streams are wanted, a recent row of one. The
loader cuts every stream at its exact start after parsing, as for any source.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.parquet

from anomaly.data.ranges import ReadRanges
from anomaly.timestamps import as_utc

STATISTICS_MARGIN = pd.Timedelta(seconds=1)
"""Statistics may hold times truncated to a coarser unit than the column's: a group's latest time is
taken as this much later than they say."""


def wanted_row_groups(
    parquet: pyarrow.parquet.ParquetFile,
    ranges: ReadRanges,
    *,
    timestamp_column: str,
    stream_column: str,
    layout: Literal["long", "wide"],
) -> list[int] | None:
    """The numbers of the row groups to read, or None for all of them (nothing can be skipped, or the
    timestamp column holds text, whose statistics order the text rather than the times)."""
    schema = parquet.schema_arrow
    if not ranges.since or timestamp_column not in schema.names:
        return None
    time_type = schema.field(timestamp_column).type
    if not (pyarrow.types.is_timestamp(time_type) or _is_number(time_type)):
        return None
    if layout == "wide" and ranges.whole:
        return None
    names = np.array(sorted(ranges.since), dtype=object)
    starts = np.array([pd.Timestamp(ranges.since[name]) for name in names], dtype=object)
    newest = max(starts)
    metadata = parquet.metadata
    time_index = schema.get_field_index(timestamp_column)
    stream_index = schema.get_field_index(stream_column) if layout == "long" else -1
    kept = []
    for number in range(metadata.num_row_groups):
        group = metadata.row_group(number)
        latest = _latest_time(group.column(time_index).statistics)
        if latest is None:
            kept.append(number)
            continue
        if layout == "wide":
            if latest >= min(starts):
                kept.append(number)
            continue
        covered = _names_range(group.column(stream_index).statistics) if stream_index >= 0 else None
        if covered is None or (ranges.others and latest >= newest):
            kept.append(number)
            continue
        low, high = covered
        if any(low <= name <= high for name in ranges.whole):
            kept.append(number)
            continue
        inside = slice(np.searchsorted(names, low, side="left"), np.searchsorted(names, high, side="right"))
        if len(starts[inside]) and min(starts[inside]) <= latest:
            kept.append(number)
    return kept


def group_row_numbers(parquet: pyarrow.parquet.ParquetFile, groups: list[int]) -> np.ndarray:
    """The 1-based row numbers, in the file, of the rows of ``groups`` read in that order."""
    metadata = parquet.metadata
    sizes = np.array([metadata.row_group(number).num_rows for number in range(metadata.num_row_groups)])
    firsts = np.concatenate([[0], np.cumsum(sizes)])
    if not groups:
        return np.empty(0, dtype=np.int64)
    return np.concatenate([np.arange(firsts[g], firsts[g] + sizes[g]) for g in groups]) + 1


def _is_number(data_type: pyarrow.DataType) -> bool:
    return pyarrow.types.is_integer(data_type) or pyarrow.types.is_floating(data_type)


def _latest_time(statistics: pyarrow.parquet.Statistics | None) -> pd.Timestamp | None:
    """The group's latest time (UTC) by its statistics, or None where they have none."""
    if statistics is None or not statistics.has_min_max:
        return None
    latest = statistics.max
    if isinstance(latest, int | float):
        return pd.Timestamp(latest, unit="s", tz="UTC") + STATISTICS_MARGIN
    return as_utc(latest) + STATISTICS_MARGIN


def _names_range(statistics: pyarrow.parquet.Statistics | None) -> tuple[str, str] | None:
    """The smallest and largest stream name in the group, or None where the statistics do not say.

    Names are the cells stripped of spaces; a cell with leading or trailing ones sorts first, or just
    after its name, so only a smallest cell with spaces leaves the names range unknown."""
    if statistics is None or not statistics.has_min_max:
        return None
    low, high = statistics.min, statistics.max
    if not isinstance(low, str) or not isinstance(high, str) or low != low.strip():
        return None
    return low, high
