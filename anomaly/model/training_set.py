"""The training set of an LSTM autoencoder: which windows it trains on, which judge early stopping, and
which are held out for the threshold, all cut from one stream in time order.

The last ``validation_fraction`` of the rows is held out chronologically (never shuffled in), so
early stopping and the held-out errors see data later than anything trained on, as new data will be.
Rows marked as excluded (confirmed anomalies) reach no window and not the scaler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from anomaly.config import ModelConfig, WindowConfig
from anomaly.data.types import PreparedStream
from anomaly.errors import ConfigError, DataError
from anomaly.scaling import ChannelScaler
from anomaly.windowing import gather_windows, window_starts


@dataclass(frozen=True)
class TrainingSet:
    """What ``build_training_set`` derives from a stream before training.

    ``scaler`` is fitted on the training rows (those before the chronological split, less excluded
    rows) and ``scaled`` (n_rows, channels) is the whole stream through it. ``train_windows`` and
    ``validation_windows`` (n, window, channels) are the training pairs' inputs, ``train_targets`` and
    ``validation_targets`` what the autoencoder's outputs learn, one array per decoder output (the
    windows themselves for the 'reconstruction' variant); ``train_starts`` are the training windows'
    start rows and ``held_out_starts`` those of the stride-1 windows the model does not train on (all
    windows where the stream is too short to hold any out: ``validation_held_out`` is then False).
    ``excluded`` (n_rows,) marks the rows no window may overlap.
    """

    channels: list[str]
    scaler: ChannelScaler
    scaled: np.ndarray
    excluded: np.ndarray
    validation_held_out: bool
    train_starts: np.ndarray
    held_out_starts: np.ndarray
    train_windows: np.ndarray
    train_targets: tuple[np.ndarray, ...]
    validation_windows: np.ndarray
    validation_targets: tuple[np.ndarray, ...]

    def keras_targets(self, targets: tuple[np.ndarray, ...]) -> Any:
        """``targets`` as Keras ``fit`` takes them: one array, or a pair for the composite model."""
        return targets[0] if len(targets) == 1 else targets


def build_training_set(
    stream: PreparedStream, window: WindowConfig, model: ModelConfig, exclude_rows: np.ndarray | None = None
) -> TrainingSet:
    """The training set of ``stream``; ``exclude_rows`` (n_rows,) bool marks rows no window may overlap."""
    length = window.length
    values = stream.values.to_numpy(dtype=float)
    excluded = np.zeros(len(values), dtype=bool) if exclude_rows is None else np.asarray(exclude_rows)
    if excluded.shape != (len(values),) or excluded.dtype != bool:
        raise ValueError(f"exclude_rows must be a boolean array of shape ({len(values)},)")
    if model.variant != "reconstruction" and model.horizon > length:
        raise ConfigError(
            f"model.horizon {model.horizon} exceeds window.length {length}: a window is judged "
            "by the prediction of its own last rows"
        )
    # A training pair is a window plus, for a prediction decoder, the horizon rows after it.
    span = length if model.variant == "reconstruction" else length + model.horizon
    split_row = int(len(values) * (1 - model.validation_fraction))
    train_starts = clear_of(
        window_starts(stream.segment[:split_row], span, window.train_stride), excluded, span
    )
    validation_starts = clear_of(
        window_starts(stream.segment[split_row:], span, 1) + split_row, excluded, span
    )
    held_out = bool(len(train_starts) and len(validation_starts))
    if not held_out:
        split_row = len(values)
        train_starts = clear_of(window_starts(stream.segment, span, window.train_stride), excluded, span)
        validation_starts = clear_of(window_starts(stream.segment, span, 1), excluded, span)
    if len(train_starts) == 0:
        raise DataError(f"no complete window of {span} rows to train on", stream=stream.name)
    held_out_from = split_row if held_out else 0
    held_out_starts = clear_of(
        window_starts(stream.segment[held_out_from:], length, 1) + held_out_from,
        excluded,
        length,
        judged_lookback(model),
    )
    scaler = ChannelScaler.fit(values[:split_row][~excluded[:split_row]])
    scaled = scaler.transform(values)
    train_windows, train_targets = _training_pairs(scaled, train_starts, length, model)
    validation_windows, validation_targets = _training_pairs(scaled, validation_starts, length, model)
    return TrainingSet(
        channels=stream.channels,
        scaler=scaler,
        scaled=scaled,
        excluded=excluded,
        validation_held_out=held_out,
        train_starts=train_starts,
        held_out_starts=held_out_starts,
        train_windows=train_windows,
        train_targets=train_targets,
        validation_windows=validation_windows,
        validation_targets=validation_targets,
    )


def judged_lookback(model: ModelConfig) -> int:
    """Rows before a window that its error depends on: a prediction judges a window from the window
    ``horizon`` rows earlier (``anomaly.model.targets``), so excluded rows there must keep it out."""
    return 0 if model.variant == "reconstruction" else model.horizon


def clear_of(starts: np.ndarray, excluded: np.ndarray, length: int, lookback: int = 0) -> np.ndarray:
    """The ``starts`` whose window of ``length`` rows, and the ``lookback`` rows before it, contain no
    ``excluded`` row."""
    excluded_before = np.concatenate(([0], np.cumsum(excluded)))
    return starts[excluded_before[starts + length] == excluded_before[np.maximum(starts - lookback, 0)]]


def _training_pairs(
    scaled: np.ndarray, starts: np.ndarray, length: int, model: ModelConfig
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Inputs (n, window, channels) at ``starts`` and the targets the autoencoder's outputs learn:
    the windows, the ``horizon`` rows after them, or both (composite)."""
    windows = gather_windows(scaled, starts, length)
    if model.variant == "reconstruction":
        return windows, (windows,)
    futures = gather_windows(scaled, starts + length, model.horizon)
    return windows, (futures,) if model.variant == "prediction" else (windows, futures)
