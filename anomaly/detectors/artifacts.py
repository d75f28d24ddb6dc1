"""Saving and loading fitted detectors: a JSON record plus the detector's own files, in one folder.

The record names the detector, so one loader rebuilds any registered kind; the architecture is rebuilt
from code, so loading never unpickles or deserialises code. Format 1 (LSTM-only records, before
detectors were pluggable and threshold settings were one model per method) is read as well.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anomaly.detectors.registry import detector_class
from anomaly.errors import ModelError

if TYPE_CHECKING:
    from anomaly.detectors.base import Detector

ARTIFACT_FORMAT = 2
RECORD_FILE = "model.json"


def save_detector(detector: Detector, directory: Path) -> None:
    """Write ``detector``'s files and its JSON record to ``directory`` (created if missing)."""
    record = {"format": ARTIFACT_FORMAT, **detector.record()}
    directory.mkdir(parents=True, exist_ok=True)
    detector._save_files(directory)
    (directory / RECORD_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")


def load_detector(directory: Path) -> Detector:
    """The fitted detector saved in ``directory``; a ModelError saying what is wrong otherwise."""
    try:
        record = json.loads((directory / RECORD_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"model artifact {directory} is missing its {RECORD_FILE}") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"model artifact {directory / RECORD_FILE} is not valid JSON: {exc}") from None
    if record.get("format") == 1:
        record = upgrade_format_1(record)
    if record.get("format") != ARTIFACT_FORMAT:
        raise ModelError(
            f"model artifact {directory} has format {record.get('format')}, expected {ARTIFACT_FORMAT}"
        )
    return detector_class(record["detector"]).from_record(record, directory)


def upgrade_format_1(record: dict[str, Any]) -> dict[str, Any]:
    """A format-1 record (an LSTM autoencoder whose threshold settings held every method's parameters)
    as format 2: the detector named, and only the chosen method's parameters kept."""
    from anomaly.thresholds import threshold_config_type

    def only_fields_of(method: str) -> dict[str, Any]:
        fields = threshold_config_type(method).model_fields
        return {key: value for key, value in settings.items() if key in fields} | {"method": method}

    settings = dict(record["threshold_config"])
    threshold = only_fields_of(settings.get("method", "block_maxima"))
    if threshold["method"] == "label_tuned":
        fallback = only_fields_of(settings.get("label_fallback", "block_maxima"))
        threshold["label_fallback"] = {key: value for key, value in fallback.items() if key != "errors"}
    versions = record.get("versions", {})
    return {
        **record,
        "format": ARTIFACT_FORMAT,
        "detector": "lstm_autoencoder",
        "threshold_config": threshold,
        "framework_versions": {key: versions[key] for key in ("tensorflow", "keras") if key in versions},
    }
