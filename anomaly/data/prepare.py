"""From raw rows to a regular series cut into gap-free segments: each case of dirty data is handled and
counted in a ``PreparationReport``, or the stream is rejected with a ``DataError`` saying why.

Everything is vectorised over rows (one short loop over channels), so a million-row stream prepares in
about a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from anomaly.config import PreparationConfig
from anomaly.data.types import GridAnchor, PreparationReport, PreparedStream, RawStream
from anomaly.errors import DataError


def prepare_stream(
    raw: RawStream, config: PreparationConfig, *, window_length: int, grid: GridAnchor | None = None
) -> PreparedStream:
    """Sort, deduplicate, put on a regular grid, fill short gaps and split at long ones.

    Steps, and what the report counts:

    1. rows are sorted by time (stably); ``unsorted_rows`` counts rows earlier than the row before them;
    2. rows sharing a timestamp become one row, each channel the mean of its non-missing values;
       ``duplicate_timestamps`` counts the rows merged away;
    3. the step is ``config.frequency``, or with ``"auto"`` the median interval rounded to whole seconds,
       made coarser where the series is sampled irregularly with frequent gaps (``_coarser_step``,
       said in ``notes``); with ``grid`` (an earlier run's, when only the end of the stream was read),
       its step, nothing inferred;
    4. if some timestamp is off the grid ``first + k * step`` (with ``grid``: ``grid.origin + k * step``),
       rows are binned to the grid (each to the step at or before it) and averaged per bin: ``resampled``;
    5. ``missing_values`` counts the cells (step x channel) of the grid from the first to the last
       timestamp that hold no value: missing cells of the source rows plus every channel of steps with
       no row. Per channel, a run of at most ``config.max_interpolated_gap`` missing steps between two
       values is filled linearly; ``interpolated_steps`` counts the output rows with a filled value.
       Rows still missing a value are dropped: at the start or end this trims the series, inside it
       splits the series into segments (``long_gaps`` counts the splits);
    6. segments shorter than ``window_length`` rows are dropped (``dropped_short_segments``);
    7. ``constant_channels`` names the channels whose output values are all equal (kept: a flat sensor
       may be normal, and a change from flat is what the detector should flag).

    Raises ``DataError`` (naming the stream) for an invalid frequency, fewer than two distinct
    timestamps, or no segment of at least ``window_length`` rows.
    """
    where = {"file": raw.origin, "stream": raw.name}
    channels = raw.channels
    timestamps = pd.DatetimeIndex(raw.frame["timestamp"]).as_unit("ns").asi8
    values = np.stack([raw.frame[channel].to_numpy(dtype=np.float64) for channel in channels], axis=1)

    unsorted_rows = int(np.count_nonzero(timestamps[1:] < timestamps[:-1]))
    order = np.argsort(timestamps, kind="stable")
    timestamps, values = timestamps[order], values[order]

    distinct = _run_starts(timestamps)
    duplicate_timestamps = len(timestamps) - distinct.size
    if distinct.size < 2:
        raise DataError(f"{distinct.size} distinct timestamp(s); at least 2 are needed for a series", **where)
    timestamps, values = timestamps[distinct], _mean_per_run(values, distinct)

    notes: tuple[str, ...] = ()
    if grid is not None:
        frequency, origin = (
            pd.Timedelta(grid.step).as_unit("ns"),
            pd.Timestamp(grid.origin).as_unit("ns").value,
        )
    else:
        frequency, origin = _frequency(timestamps, config, where), int(timestamps[0])
        if config.frequency == "auto":
            frequency, notes = _coarser_step(
                timestamps, frequency, config.max_interpolated_gap, window_length
            )
    step = frequency.value
    offsets = timestamps - origin
    resampled = bool(np.any(offsets % step))
    positions = offsets // step
    if resampled:
        bins = _run_starts(positions)
        positions, values = positions[bins], _mean_per_run(values, bins)

    grid = _Grid.build(positions, values, max_gap=config.max_interpolated_gap)
    missing_values = grid.missing_cells()
    interpolated = grid.interpolate(max_gap=config.max_interpolated_gap)

    complete = ~np.isnan(grid.values).any(axis=1)
    kept_positions = grid.positions[complete]
    breaks = np.diff(kept_positions) > 1
    segment = np.concatenate([[0], np.cumsum(breaks)]) if kept_positions.size else kept_positions
    lengths = np.bincount(segment)
    long_enough = lengths >= window_length
    if not long_enough.any():
        longest = int(lengths.max()) if lengths.size else 0
        raise DataError(
            f"{kept_positions.size} usable rows after preparation (longest gap-free stretch {longest}), "
            f"fewer than the window length {window_length}",
            **where,
        )
    in_long_segment = long_enough[segment]
    output_values = grid.values[complete][in_long_segment]
    output_positions = kept_positions[in_long_segment]
    stamps = (origin + output_positions * step).astype("datetime64[ns]")
    index = pd.DatetimeIndex(stamps, name="timestamp").tz_localize("UTC")

    report = PreparationReport(
        input_rows=len(raw.frame),
        unsorted_rows=unsorted_rows,
        duplicate_timestamps=duplicate_timestamps,
        missing_values=missing_values,
        resampled=resampled,
        interpolated_steps=int(np.count_nonzero(interpolated[complete][in_long_segment])),
        long_gaps=int(np.count_nonzero(breaks)),
        dropped_short_segments=int(np.count_nonzero(~long_enough)),
        constant_channels=tuple(
            channel
            for channel, spread in zip(channels, np.ptp(output_values, axis=0), strict=True)
            if spread == 0
        ),
        notes=notes,
    )
    return PreparedStream(
        name=raw.name,
        values=pd.DataFrame(output_values, index=index, columns=channels),
        segment=(np.cumsum(long_enough) - 1)[segment[in_long_segment]],
        frequency=frequency,
        report=report,
    )


def preparation_reach(config: PreparationConfig, window_length: int) -> int:
    """Grid steps after the first row read from which preparing the end of a stream on its earlier grid
    (``prepare_stream(..., grid=...)``) gives exactly the rows, values and segments a whole read gives.

    Every step is local: a gap is filled from the values at most ``max_interpolated_gap + 1`` steps
    either side, and a segment is kept when it holds a window, so a segment the read cuts short still
    does once it reaches ``window_length`` steps past that.
    """
    return config.max_interpolated_gap + 1 + window_length


COVERED_SHARE = 0.5
"""Share of a series' rows that must lie in gap-free stretches of ``STRETCH_WINDOWS`` windows."""
STRETCH_WINDOWS = 4
COARSER_FACTORS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 144, 288)


def _coarser_step(
    timestamps: np.ndarray, inferred: pd.Timedelta, max_gap: int, window_length: int
) -> tuple[pd.Timedelta, tuple[str, ...]]:
    """The finest of the inferred step and its ``COARSER_FACTORS`` multiples at which most rows
    (``COVERED_SHARE``) lie in gap-free stretches of at least ``STRETCH_WINDOWS`` windows, with a note
    when it is coarser than inferred.

    Sensors that report every 5 to 15 minutes with frequent gaps of half an hour to a day have a median
    step at which no stretch reaches a window: every gap splits the series. On a coarser grid, where a
    cell averages the rows it holds, the same series is mostly gap-free. The inferred step is kept when
    it already serves, or when no multiple does (preparation then says why, as before).
    """

    def covered(step: int) -> float:
        cells = np.unique((timestamps - timestamps[0]) // step)
        runs = np.split(cells, np.flatnonzero(np.diff(cells) > max_gap + 1) + 1)
        long_runs = [run for run in runs if run[-1] - run[0] + 1 >= STRETCH_WINDOWS * window_length]
        return sum(len(run) for run in long_runs) / len(cells)

    base = inferred.value
    if covered(base) >= COVERED_SHARE:
        return inferred, ()
    for factor in COARSER_FACTORS:
        if covered(base * factor) >= COVERED_SHARE:
            coarser = pd.Timedelta(base * factor, unit="ns")
            return coarser, (
                f"sampled irregularly: on the {_readable(inferred)} grid under {COVERED_SHARE:.0%} of the "
                f"rows lie in gap-free stretches of {STRETCH_WINDOWS} windows, so rows are averaged onto a "
                f"{_readable(coarser)} grid",
            )
    return inferred, ()


def _readable(step: pd.Timedelta) -> str:
    """'10 min', '5 h 20 min', '2 d' rather than pandas' '0 days 00:10:00'."""
    seconds = int(step.total_seconds())
    parts = [
        (seconds // 86400, "d"),
        (seconds % 86400 // 3600, "h"),
        (seconds % 3600 // 60, "min"),
        (seconds % 60, "s"),
    ]
    return " ".join(f"{amount} {unit}" for amount, unit in parts if amount) or str(step)


def _run_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Indices where a run of equal keys starts, in a sorted array."""
    return np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))


def _mean_per_run(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per run of rows (runs begin at ``starts``), each column's mean over its non-missing values; NaN
    where a run has none. ``values`` is ``(rows, channels)``; the result ``(len(starts), channels)``."""
    if starts.size == len(values):
        return values
    known = ~np.isnan(values)
    sums = np.add.reduceat(np.where(known, values, 0.0), starts, axis=0)
    counts = np.add.reduceat(known.astype(np.int64), starts, axis=0)
    with np.errstate(invalid="ignore"):
        return sums / counts


def _frequency(timestamps: np.ndarray, config: PreparationConfig, where: dict[str, str]) -> pd.Timedelta:
    """The grid step: given, or the median interval between distinct timestamps (ns) in whole seconds."""
    if config.frequency == "auto":
        seconds = round(float(np.median(np.diff(timestamps))) / 1e9)
        if seconds < 1:
            raise DataError(
                "rows are less than a second apart; set preparation.frequency (e.g. '100ms')", **where
            )
        return pd.Timedelta(seconds=seconds)
    try:
        frequency = pd.Timedelta(config.frequency)
    except ValueError:
        frequency = pd.NaT
    if pd.isna(frequency) or frequency <= pd.Timedelta(0):
        raise DataError(
            f"invalid frequency {config.frequency!r}: expected a positive interval such as '5min' or 'auto'",
            **where,
        )
    return frequency


class _Grid:
    """The regular grid of a series, stored without the steps of gaps that are too long to fill.

    A run of more than ``max_gap`` steps with no row is dropped whatever the values, so it is not
    materialised: the grid is a list of chunks, each from a row to a row with no such run inside, and
    its size is at most ``rows * (max_gap + 1)`` however long the gaps are. Within a chunk rows are
    one step apart; ``positions`` holds each grid row's step number counted from the first timestamp.
    """

    def __init__(self, values: np.ndarray, positions: np.ndarray, chunk: np.ndarray, skipped_steps: int):
        self.values = values
        self.positions = positions
        self.chunk = chunk
        self.skipped_steps = skipped_steps

    @classmethod
    def build(cls, positions: np.ndarray, values: np.ndarray, *, max_gap: int) -> _Grid:
        """``positions``: increasing step number of each row; ``values``: ``(rows, channels)``."""
        empty_steps = np.diff(positions) - 1
        too_long = empty_steps > max_gap
        chunk_first_row = np.concatenate([[0], np.flatnonzero(too_long) + 1])
        chunk_last_row = np.concatenate([chunk_first_row[1:], [len(positions)]]) - 1
        chunk_first_step = positions[chunk_first_row]
        chunk_steps = positions[chunk_last_row] - chunk_first_step + 1
        chunk_offset = np.concatenate([[0], np.cumsum(chunk_steps)[:-1]])
        shift = chunk_offset - chunk_first_step
        row_chunk = np.repeat(np.arange(chunk_first_row.size), chunk_last_row - chunk_first_row + 1)

        grid = np.full((int(chunk_steps.sum()), values.shape[1]), np.nan)
        grid[positions + shift[row_chunk]] = values
        grid_chunk = np.repeat(np.arange(chunk_first_row.size), chunk_steps)
        grid_positions = np.arange(len(grid)) - shift[grid_chunk]
        return cls(grid, grid_positions, grid_chunk, int(empty_steps[too_long].sum()))

    def missing_cells(self) -> int:
        """Cells with no value on the full grid, the unmaterialised long gaps included."""
        return int(np.isnan(self.values).sum()) + self.skipped_steps * self.values.shape[1]

    def interpolate(self, *, max_gap: int) -> np.ndarray:
        """Fill, in place and per channel, runs of at most ``max_gap`` missing steps that have a value on
        both sides in the same chunk; return the mask of grid rows where some channel was filled."""
        steps = len(self.values)
        filled_rows = np.zeros(steps, dtype=bool)
        for column in self.values.T:
            missing = np.isnan(column)
            edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
            run_start, run_end = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            before, after = np.maximum(run_start - 1, 0), np.minimum(run_end, steps - 1)
            fillable = (
                (run_end - run_start <= max_gap)
                & (run_start > 0)
                & (run_end < steps)
                & (self.chunk[before] == self.chunk[after])
            )
            if not fillable.any():
                continue
            marks = np.zeros(steps + 1, dtype=np.int64)
            marks[run_start[fillable]] += 1
            marks[run_end[fillable]] -= 1
            fill = np.cumsum(marks[:-1]) > 0
            known = np.flatnonzero(~missing)
            targets = np.flatnonzero(fill)
            column[targets] = np.interp(targets, known, column[known])
            filled_rows |= fill
        return filled_rows
