"""The bundled sample data: reproducible from its generator, and its labels agree with its data.

The generator lives in ``sample_data/``, which is not a package, so it is loaded from its file path.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from types import ModuleType

import pytest

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
LABEL_FORMAT = "%Y-%m-%d %H:%M:%S"


def load_generator() -> ModuleType:
    """Import sample_data/generate.py; it is registered first because dataclasses look their module up."""
    spec = importlib.util.spec_from_file_location("sample_data_generate", SAMPLE_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return load_generator()


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with (SAMPLE_DIR / "sensors.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def labels() -> dict[str, list[list[str]]]:
    return json.loads((SAMPLE_DIR / "labels.json").read_text(encoding="utf-8"))


def parse_row_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def parse_label_time(text: str) -> datetime:
    return datetime.strptime(text, LABEL_FORMAT).replace(tzinfo=UTC)


def stream_ranges(rows: list[dict[str, str]]) -> dict[str, tuple[datetime, datetime]]:
    times: dict[str, list[datetime]] = {}
    for row in rows:
        times.setdefault(row["stream"], []).append(parse_row_time(row["timestamp"]))
    return {stream: (min(ts), max(ts)) for stream, ts in times.items()}


def test_regenerating_gives_the_committed_bytes(generator: ModuleType, tmp_path: Path) -> None:
    generator.generate(tmp_path)
    for name in ("sensors.csv", "labels.json"):
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name


def test_header_and_used_columns_are_numeric(rows: list[dict[str, str]]) -> None:
    with (SAMPLE_DIR / "sensors.csv").open(encoding="utf-8") as f:
        assert f.readline().strip() == "timestamp,stream,value,pressure,flow,temperature"
    used: dict[str, set[str]] = {}
    for row in rows:
        used.setdefault(row["stream"], {k for k in ("value", "pressure", "flow", "temperature") if row[k]})
        filled = {k for k in ("value", "pressure", "flow", "temperature") if row[k]}
        assert filled == used[row["stream"]], row
        for column in filled:
            assert float(row[column]) == float(row[column]), row  # parses, and is not NaN
    assert len(used) == 7
    assert used["pump_station/pump_1"] == {"pressure", "flow", "temperature"}
    assert all(cols == {"value"} for stream, cols in used.items() if stream != "pump_station/pump_1")


def test_label_streams_exist_and_windows_lie_inside_them(
    rows: list[dict[str, str]], labels: dict[str, list[list[str]]]
) -> None:
    ranges = stream_ranges(rows)
    assert set(labels) == set(ranges)
    assert list(labels) == sorted(labels)
    for stream, windows in labels.items():
        first, last = ranges[stream]
        for start, end in windows:
            assert first <= parse_label_time(start) < parse_label_time(end) <= last, (stream, start, end)


def test_every_anomaly_kind_is_injected_and_labelled(
    generator: ModuleType, labels: dict[str, list[list[str]]]
) -> None:
    assert {a.kind for a in generator.ANOMALIES} == set(generator.ANOMALY_KINDS)
    assert sum(len(w) for w in labels.values()) == len(generator.ANOMALIES)
    for anomaly in generator.ANOMALIES:
        start, end = parse_label_time(anomaly.start), parse_label_time(anomaly.end)
        assert any(
            parse_label_time(a) < start and end < parse_label_time(b) for a, b in labels[anomaly.stream]
        ), anomaly


def test_anomalies_leave_the_start_of_each_stream_clean(
    generator: ModuleType, rows: list[dict[str, str]]
) -> None:
    ranges = stream_ranges(rows)
    for anomaly in generator.ANOMALIES:
        first, last = ranges[anomaly.stream]
        clean_until = first + (last - first) * generator.CLEAN_PREFIX_SHARE
        assert parse_label_time(anomaly.start) > clean_until, anomaly


def test_dirty_data_features_are_present(rows: list[dict[str, str]]) -> None:
    """Downstream tests rely on these to exercise the loader's handling of real-world dirt."""
    by_stream: dict[str, list[datetime]] = {}
    for row in rows:
        by_stream.setdefault(row["stream"], []).append(parse_row_time(row["timestamp"]))
    duplicates = sum(len(ts) - len(set(ts)) for ts in by_stream.values())
    unsorted_streams = sum(any(b < a for a, b in pairwise(ts)) for ts in by_stream.values())
    longest_gap = max(b - a for ts in by_stream.values() for a, b in pairwise(sorted(ts)))
    short_streams = sum(len(set(ts)) < 21 * 144 for ts in by_stream.values())  # the gap and the lost rows
    assert 3 <= duplicates <= 5
    assert unsorted_streams >= 1
    assert longest_gap >= timedelta(hours=8)
    assert short_streams >= 2
    streams = [row["stream"] for row in rows]
    blocks = [s for previous, s in pairwise([None, *streams]) if s != previous]
    assert len(blocks) == len(set(streams)), "rows are grouped by stream"
