"""Reading labelled anomaly windows (NAB's ``combined_windows.json`` format), input to evaluation and to
threshold tuning."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from anomaly.errors import DataError
from anomaly.timestamps import as_utc

LabelWindows = dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]]


def labels_for_threshold(threshold: object, stream: str) -> list[tuple[pd.Timestamp, pd.Timestamp]] | None:
    """The labelled intervals of ``stream`` when ``threshold`` (a threshold config) is tuned on a labels
    file, else None: read at the edge (pipeline runs, evaluation), so that no detector reads files while
    it fits."""
    labels_file = getattr(threshold, "labels", None)
    if labels_file is None:
        return None
    return load_labels(labels_file).get(stream, [])


def load_labels(path: Path) -> LabelWindows:
    """Stream name -> list of (start, end) UTC timestamps; naive times are taken as UTC."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("labels file not found", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON: {exc}", file=str(path)) from None
    if not isinstance(raw, dict):
        raise DataError("expected an object of stream name -> list of [start, end]", file=str(path))
    windows: LabelWindows = {}
    for stream, pairs in raw.items():
        try:
            windows[stream] = [(as_utc(start), as_utc(end)) for start, end in pairs]
        except (TypeError, ValueError) as exc:
            raise DataError(f"bad [start, end] pair: {exc}", file=str(path), stream=stream) from None
    return windows
