"""The values that flow from loading to preparation: raw rows per stream, then a regular series."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RawStream:
    """One stream's rows as read from the source, parsed but not yet cleaned.

    ``frame`` has a ``timestamp`` column (``datetime64[ns, UTC]``) and one float64 column per channel
    (NaN where the source had no value), in source order. ``rows`` gives, for each frame row, its row
    number in the source (1-based, the header being row 1) so that later checks can say where a
    problem is. ``since`` is set when only the rows at or after it were read (``ReadRanges``).
    """

    name: str
    frame: pd.DataFrame
    rows: np.ndarray
    origin: str
    since: pd.Timestamp | None = None

    @property
    def channels(self) -> list[str]:
        """The value columns of this stream, in source order."""
        return [column for column in self.frame.columns if column != "timestamp"]


@dataclass(frozen=True)
class GridAnchor:
    """The grid an earlier run put a stream on: its step and one timestamp on it.

    Preparing only the end of a stream on this grid gives, from ``preparation_reach`` steps after the
    first row read on, the rows preparing the whole stream gives, so a run can read less of a long
    source and still score exactly what a whole read would.
    """

    step: pd.Timedelta
    origin: pd.Timestamp


@dataclass(frozen=True)
class PreparationReport:
    """What preparation changed, so that each handled case of dirty data is recorded with its count."""

    input_rows: int
    unsorted_rows: int = 0
    duplicate_timestamps: int = 0
    missing_values: int = 0
    resampled: bool = False
    interpolated_steps: int = 0
    long_gaps: int = 0
    dropped_short_segments: int = 0
    constant_channels: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """One line for logs: only the cases that happened."""
        parts = [f"{self.input_rows} rows"]
        counts = {
            "out of order": self.unsorted_rows,
            "duplicate timestamps aggregated": self.duplicate_timestamps,
            "missing values": self.missing_values,
            "steps interpolated": self.interpolated_steps,
            "long gaps split the series": self.long_gaps,
            "segments shorter than a window skipped": self.dropped_short_segments,
        }
        parts += [f"{count} {what}" for what, count in counts.items() if count]
        if self.resampled:
            parts.append("resampled to a regular grid")
        if self.constant_channels:
            parts.append(f"constant channels: {', '.join(self.constant_channels)}")
        parts += list(self.notes)
        return "; ".join(parts)


@dataclass(frozen=True)
class PreparedStream:
    """A stream on a regular UTC grid, cut into gap-free segments, ready for windowing.

    ``values`` is indexed by timestamp (UTC, every step of ``frequency`` inside a segment, nothing in
    long gaps) with one float64 column per channel and no NaN. ``segment`` gives each row's segment
    number (0, 1, ...); consecutive rows with the same number are exactly one step apart, so a window
    taken inside one segment never spans a gap.
    """

    name: str
    values: pd.DataFrame
    segment: np.ndarray
    frequency: pd.Timedelta
    report: PreparationReport

    @property
    def channels(self) -> list[str]:
        """The channel names, in order."""
        return list(self.values.columns)
