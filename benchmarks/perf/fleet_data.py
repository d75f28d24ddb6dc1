"""A synthetic fleet for ``benchmarks/fleet.py``: N sensor streams as a directory of CSV files, with
labelled injected anomalies, some dirty rows, and one more hour of rows to append later.

Each stream is one of the seven signals of the bundled sample (``sample_data/generate.py``: daily and
weekly load cycles, noise, slow trends; ``pump_1`` has three correlated channels), seeded by its index,
so stream ``i`` is the same in every fleet of more than ``i`` streams. Two anomalies of the sample's
kinds are injected into the last 60% of its rows with the sample's own injectors, at magnitudes
scaled to the channel's spread, and labelled as the sample labels them (the anomaly widened by an
hour on each side). The sample's ``frequency_change`` is not among them: the sample builds it into
its one spindle signal (``cycle_phase`` reads the sample's own list of anomalies), so the fleet
drops the first ten days of every signal, where that change sits, instead.

The dirt is what preparation handles: duplicate timestamps, a few missing rows and empty cells
(interpolated), rows out of order, and in every tenth stream an 8-hour gap that splits the series;
it is kept out of the labelled windows so that the labels stay what was injected.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261213
WARMUP_STEPS = 10 * 144  # the sample's spindle frequency change lies in its first ten days
NEW_ROWS = 6  # one hour of 10-minute rows, appended by a scheduled run's producer
ANOMALIES_PER_STREAM = 2
LABEL_FORMAT = "%Y-%m-%d %H:%M:%S"
GAP_EVERY = 10  # every tenth stream has an 8-hour gap
GAP_STEPS = 48
# (shortest, longest) duration in 10-minute steps, and the channel's spread share of the offset.
DURATIONS = {
    "spike": (2, 3),
    "level_shift": (36, 72),
    "stuck": (36, 60),
    "noise_burst": (12, 18),
    "slow_drift": (144, 216),
    "correlation_break": (36, 48),
}
OFFSET_SHARE = {"spike": (0.6, 1.0), "level_shift": (0.3, 0.5), "slow_drift": (0.3, 0.5)}
NOISE_BURST_FACTOR = (5.0, 6.0)
UNIVARIATE_KINDS = ("spike", "level_shift", "stuck", "noise_burst", "slow_drift")
# The pump's anomalies and the channel each hits: its pressure drifts or stops following flow.
PUMP_KINDS = (("slow_drift", "pressure"), ("correlation_break", "pressure"), ("spike", "flow"))


def sample_generator() -> ModuleType:
    """``sample_data/generate.py`` as a module (registered first: its dataclasses look it up)."""
    name = "sample_data_generate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "sample_data" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class FleetStream:
    """One stream of the fleet: its file name (the stream's name in a directory source), its clean
    signal with anomalies over every grid step (``(n_steps,)`` per channel, the appended hour
    included), and the label windows of its anomalies."""

    name: str
    times: np.ndarray  # datetime64[s], UTC
    channels: dict[str, np.ndarray]
    decimals: dict[str, int]
    labels: list[tuple[str, str]]
    initial_rows: int
    dirty_steps: dict[str, np.ndarray] = field(default_factory=dict)


def make_stream(index: int, rows: int) -> FleetStream:
    """Stream ``index`` of any fleet: ``rows`` initial grid steps plus ``NEW_ROWS`` to append."""
    generator = sample_generator()
    kinds = list(generator.STREAMS)
    signal = kinds[index % len(kinds)]
    builder, decimals = generator.STREAMS[signal]
    rng = np.random.default_rng([SEED, index])
    n_steps = rows + NEW_ROWS
    clock = generator.make_clock(WARMUP_STEPS + n_steps)
    channels = {name: values[WARMUP_STEPS:].copy() for name, values in builder(clock, rng).items()}
    times = clock.times[WARMUP_STEPS:]
    name = f"site_{index // len(kinds):04d}/{signal.split('/')[-1]}.csv"
    labels = []
    for kind, channel, where in _placements(channels, rows, rng):
        anomaly = _anomaly(generator, name, kind, channel, where, times, channels[channel], rng)
        generator.INJECTORS[kind](channels[channel], where, anomaly, rng)
        margin = generator.LABEL_MARGIN
        first = max(times[where.start] - margin, times[0])
        last = min(times[where.stop - 1] + margin, times[rows - 1])
        labels.append((_label_time(first), _label_time(last)))
    if signal == "datacenter/cpu_util":  # a utilisation stays within 0-100 %, whatever happened
        channels["value"] = np.clip(channels["value"], 0.0, 100.0)
    stream = FleetStream(name, times, channels, decimals, labels, rows)
    return replace(stream, dirty_steps=_dirt(index, stream, rng))


def _placements(
    channels: dict[str, np.ndarray], rows: int, rng: np.random.Generator
) -> list[tuple[str, str, slice]]:
    """(kind, channel, grid slice) of each anomaly: one per equal part of the last 60% of the rows,
    at least a day from either end of its part, so labels never touch."""
    if set(channels) == {"value"}:
        picks = [(str(kind), "value") for kind in rng.choice(UNIVARIATE_KINDS, ANOMALIES_PER_STREAM, False)]
    else:
        chosen = rng.choice(len(PUMP_KINDS), ANOMALIES_PER_STREAM, replace=False)
        picks = [PUMP_KINDS[i] for i in chosen]
    first = int(rows * sample_generator().CLEAN_PREFIX_SHARE)
    part = (rows - first) // len(picks)
    placements = []
    for number, (kind, channel) in enumerate(picks):
        shortest, longest = DURATIONS[kind]
        duration = int(rng.integers(shortest, longest + 1))
        duration = min(duration, part // 2)
        low = first + number * part + min(144, part // 4)
        high = max(low + 1, first + (number + 1) * part - duration - min(144, part // 4))
        start = int(rng.integers(low, high))
        placements.append((kind, channel, slice(start, start + duration)))
    return placements


def _anomaly(
    generator: ModuleType,
    name: str,
    kind: str,
    channel: str,
    where: slice,
    times: np.ndarray,
    values: np.ndarray,
    rng: np.random.Generator,
) -> object:
    """The sample's ``InjectedAnomaly`` record for ``kind`` at ``where``, its magnitude scaled to the
    channel: spikes, shifts and drifts by its 1st-99th percentile spread, noise bursts as a factor."""
    spread = float(np.subtract(*np.percentile(values, [99, 1])))
    if kind in OFFSET_SHARE:
        magnitude = spread * rng.uniform(*OFFSET_SHARE[kind])
        if kind != "spike" and rng.random() < 0.5:
            magnitude = -magnitude
    elif kind == "noise_burst":
        magnitude = rng.uniform(*NOISE_BURST_FACTOR)
    else:
        magnitude = 0.0
    start, end = (_label_time(times[i]) for i in (where.start, where.stop - 1))
    return generator.InjectedAnomaly(name, kind, start, end, channel=channel, magnitude=float(magnitude))


def _dirt(index: int, stream: FleetStream, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Grid steps (of the initial rows, outside the labelled windows) that get each kind of dirt."""
    rows = stream.initial_rows
    labelled = np.zeros(rows, dtype=bool)
    for first, last in stream.labels:
        start, end = np.searchsorted(stream.times[:rows], [np.datetime64(first), np.datetime64(last)])
        labelled[max(0, start - 6) : end + 7] = True
    # Away from the ends and from each other: dirt at the very first or last row would be trimmed
    # instead of handled, and two kinds on one row would be counted as one.
    free = np.flatnonzero(~labelled[: rows - GAP_STEPS])
    free = free[free >= GAP_STEPS]
    picked = rng.choice(free, 14, replace=False)
    dirt = {
        "missing": np.r_[picked[0], picked[1], picked[1] + 1],
        "empty": picked[2:6],
        "duplicate": np.sort(picked[6:9]),
        "swapped": picked[9:11],
    }
    if index % GAP_EVERY == GAP_EVERY - 1:
        clean_prefix = int(rows * sample_generator().CLEAN_PREFIX_SHARE)
        start = int(rng.integers(GAP_STEPS * 2, max(GAP_STEPS * 2 + 1, clean_prefix - GAP_STEPS * 2)))
        dirt["gap"] = np.arange(start, start + GAP_STEPS)
    return dirt


def _label_time(stamp: np.datetime64) -> str:
    return str(np.datetime64(stamp, "s")).replace("T", " ")


def _lines(stream: FleetStream, steps: np.ndarray, empty: np.ndarray | None = None) -> list[str]:
    """CSV lines of ``steps`` (grid positions, repeats allowed); cells at ``empty`` steps are left
    blank in the first channel."""
    times = np.datetime_as_string(stream.times[steps], unit="s")
    columns = []
    for number, (channel, values) in enumerate(stream.channels.items()):
        decimals = stream.decimals[channel]
        cells = [f"{value:.{decimals}f}" for value in values[steps]]
        if number == 0 and empty is not None:
            for position in np.flatnonzero(np.isin(steps, empty)):
                cells[position] = ""
        columns.append(cells)
    return [",".join([f"{ts}Z", *cells]) for ts, *cells in zip(times, *columns, strict=True)]


def initial_lines(stream: FleetStream) -> list[str]:
    """The stream's file as first written: header and initial rows, with its dirt."""
    dirt = stream.dirty_steps
    steps = np.arange(stream.initial_rows)
    steps = steps[~np.isin(steps, np.r_[dirt["missing"], dirt.get("gap", [])])]
    # Each duplicated step is written twice in a row, the second reading a little off, as a re-read is.
    doubled = np.sort(np.r_[steps, dirt["duplicate"]], kind="stable")
    lines = _lines(stream, doubled, empty=dirt["empty"])
    for position in np.flatnonzero(np.diff(doubled) == 0) + 1:
        stamp, *cells = lines[position].split(",")
        lines[position] = ",".join([stamp, *(_nudged(cell) for cell in cells)])
    for step in dirt["swapped"]:  # a row arriving two rows late
        position = int(np.searchsorted(doubled, step))
        lines[position], lines[position + 2] = lines[position + 2], lines[position]
    return [",".join(["timestamp", *stream.channels]), *lines]


def _nudged(cell: str) -> str:
    if not cell:
        return cell
    decimals = len(cell.partition(".")[2])
    return f"{float(cell) * 1.001:.{decimals}f}"


def write_fleet(folder: Path, n_streams: int, rows: int) -> list[FleetStream]:
    """Write the first ``n_streams`` streams of ``rows`` initial rows as ``folder/site_*/<signal>.csv``
    and their labels as ``folder.parent / (folder.name + ".labels.json")``; return the streams."""
    streams = [make_stream(index, rows) for index in range(n_streams)]
    for stream in streams:
        path = folder / stream.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(initial_lines(stream)) + "\n", encoding="utf-8")
    labels = {stream.name: [list(window) for window in stream.labels] for stream in streams}
    labels_path(folder).write_text(json.dumps(labels, indent=1, sort_keys=True), encoding="utf-8")
    return streams


def labels_path(folder: Path) -> Path:
    """Where ``write_fleet`` puts the labels of the fleet in ``folder``: beside it, not in it, since
    every CSV file in the folder is a stream."""
    return folder.parent / f"{folder.name}.labels.json"


def append_new_rows(folder: Path, streams: list[FleetStream]) -> int:
    """Append each stream's next ``NEW_ROWS`` rows (clean) to its file; returns the rows appended."""
    for stream in streams:
        steps = np.arange(stream.initial_rows, stream.initial_rows + NEW_ROWS)
        with (folder / stream.name).open("a", encoding="utf-8") as file:
            file.write("\n".join(_lines(stream, steps)) + "\n")
    return NEW_ROWS * len(streams)
