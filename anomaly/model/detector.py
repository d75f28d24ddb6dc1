"""The per-stream detector: fit an LSTM autoencoder, score windows, learn a threshold, save and load.

It mirrors scikit-learn's outlier detectors: ``fit`` learns the scaler, weights, ``threshold_`` and
the embedding space; ``score`` gives reconstruction errors; ``transform`` gives encoder embeddings.
Artifacts are the Keras weights file plus a JSON record; the architecture is rebuilt from code on
load, so loading never unpickles or deserialises code.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from anomaly.config import ModelConfig, PipelineConfig, ThresholdConfig, WindowConfig
from anomaly.data.types import PreparedStream
from anomaly.embeddings import EmbeddingSpace
from anomaly.errors import DataError, ModelError
from anomaly.model.network import Network, NetworkSpec, network_for
from anomaly.scaling import ChannelScaler
from anomaly.thresholds import learn_threshold
from anomaly.windowing import gather_windows, window_starts

ARTIFACT_FORMAT = 1
WEIGHTS_FILE = "weights.weights.h5"
RECORD_FILE = "model.json"


@dataclass(frozen=True)
class WindowScores:
    """Errors of the stride-1 windows of a stream that end at or after ``first_row``.

    ``starts`` (n_windows,) are start rows; ``window_errors`` (n_windows,) the mean squared error of
    each window in scaled units (averaged over steps and channels); ``step_errors``
    (n_windows, window) the squared error of each step averaged over channels.
    """

    starts: np.ndarray
    window_errors: np.ndarray
    step_errors: np.ndarray


class LSTMAutoencoderDetector:
    """Reconstruction LSTM autoencoder with a threshold learnt from chronological validation errors."""

    def __init__(
        self,
        *,
        window: WindowConfig,
        model: ModelConfig,
        threshold: ThresholdConfig,
        max_clusters: int = 8,
    ) -> None:
        self.window = window
        self.model = model
        self.threshold = threshold
        self.max_clusters = max_clusters

    @classmethod
    def from_config(cls, config: PipelineConfig) -> LSTMAutoencoderDetector:
        """A detector set up from the pipeline configuration."""
        return cls(
            window=config.window,
            model=config.model,
            threshold=config.threshold,
            max_clusters=config.embeddings.max_clusters,
        )

    # -- fitting -----------------------------------------------------------------------------------
    def fit(self, stream: PreparedStream) -> Self:
        """Train on ``stream``: the first rows for gradient steps, the last ``validation_fraction`` to
        stop early; then learn the threshold from window errors (see ``ThresholdConfig.errors``)."""
        length = self.window.length
        values = stream.values.to_numpy(dtype=float)
        split_row = int(len(values) * (1 - self.model.validation_fraction))
        train_starts = window_starts(stream.segment[:split_row], length, self.window.train_stride)
        validation_starts = window_starts(stream.segment[split_row:], length, 1) + split_row
        self.validation_held_out_ = bool(len(train_starts) and len(validation_starts))
        if not self.validation_held_out_:
            split_row = len(values)
            train_starts = window_starts(stream.segment, length, self.window.train_stride)
            validation_starts = window_starts(stream.segment, length, 1)
        if len(train_starts) == 0:
            raise DataError(f"no complete window of {length} rows to train on", stream=stream.name)

        self.channels_ = stream.channels
        self.scaler_ = ChannelScaler.fit(values[:split_row])
        scaled = self.scaler_.transform(values)
        train_windows = gather_windows(scaled, train_starts, length)
        validation_windows = gather_windows(scaled, validation_starts, length)

        network = self._network()
        network.reset(self.model.seed)
        import keras

        history = network.autoencoder.fit(
            train_windows,
            train_windows,
            validation_data=(validation_windows, validation_windows),
            epochs=self.model.epochs,
            batch_size=self.model.batch_size,
            shuffle=True,
            verbose=0,
            callbacks=[
                keras.callbacks.EarlyStopping(patience=self.model.patience, restore_best_weights=True)
            ],
        )
        self.weights_ = network.autoencoder.get_weights()
        self.epochs_trained_ = len(history.history["loss"])
        self.val_loss_ = float(min(history.history["val_loss"]))

        if self.threshold.errors == "validation":
            threshold_windows = validation_windows
        else:
            threshold_windows = gather_windows(scaled, window_starts(stream.segment, length, 1), length)
        self.threshold_ = learn_threshold(self._window_errors(threshold_windows), self.threshold)
        self.embedding_space_ = EmbeddingSpace.fit(
            self.transform(train_windows), max_clusters=self.max_clusters, seed=self.model.seed
        )
        self.trained_from_ = stream.values.index[0].to_pydatetime()
        self.trained_to_ = stream.values.index[-1].to_pydatetime()
        self.n_training_windows_ = len(train_starts)
        return self

    # -- scoring -----------------------------------------------------------------------------------
    def score(self, stream: PreparedStream, *, first_row: int = 0) -> WindowScores:
        """Errors of every stride-1 window ending at or after ``first_row`` (so each row is covered)."""
        self._check_fitted()
        self._check_channels(stream)
        length = self.window.length
        starts = window_starts(stream.segment, length, 1, first_end=first_row)
        scaled = self.scaler_.transform(stream.values.to_numpy(dtype=float))
        windows = gather_windows(scaled, starts, length)
        reconstructions, _ = self._predict(windows)
        step_errors = ((reconstructions - windows) ** 2).mean(axis=2)
        return WindowScores(starts=starts, window_errors=step_errors.mean(axis=1), step_errors=step_errors)

    def predict(self, window_errors: np.ndarray) -> np.ndarray:
        """Flags: True where a window's error is above the learnt threshold."""
        self._check_fitted()
        return np.asarray(window_errors) > self.threshold_

    def transform(self, windows: np.ndarray) -> np.ndarray:
        """Encoder embeddings (n_windows, units) of scaled ``windows`` (n_windows, window, channels)."""
        self._check_fitted()
        return self._predict(windows)[1]

    def reconstruct(self, stream: PreparedStream, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the windows at ``starts``: reconstructions in the data's units and their embeddings."""
        self._check_fitted()
        scaled = self.scaler_.transform(stream.values.to_numpy(dtype=float))
        reconstructions, embeddings = self._predict(gather_windows(scaled, starts, self.window.length))
        return self.scaler_.inverse_transform(reconstructions), embeddings

    # -- persistence -------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write the weights and the JSON record (scaler, threshold, config, versions) to ``directory``."""
        self._check_fitted()
        directory.mkdir(parents=True, exist_ok=True)
        network = self._network()
        network.autoencoder.set_weights(self.weights_)
        network.autoencoder.save_weights(directory / WEIGHTS_FILE)
        (directory / RECORD_FILE).write_text(json.dumps(self.record(), indent=2), encoding="utf-8")

    def record(self) -> dict[str, Any]:
        """Everything but the weights, as JSON: also what the ``models.params`` column stores."""
        import keras
        import tensorflow as tf

        return {
            "format": ARTIFACT_FORMAT,
            "window": self.window.model_dump(),
            "model": self.model.model_dump(),
            "threshold_config": self.threshold.model_dump(),
            "max_clusters": self.max_clusters,
            "channels": self.channels_,
            "scaler": self.scaler_.to_dict(),
            "threshold": self.threshold_,
            "validation_held_out": self.validation_held_out_,
            "epochs_trained": self.epochs_trained_,
            "val_loss": self.val_loss_,
            "n_training_windows": self.n_training_windows_,
            "trained_from": self.trained_from_.isoformat(),
            "trained_to": self.trained_to_.isoformat(),
            "embedding_space": self.embedding_space_.to_dict(),
            "versions": {
                "python": platform.python_version(),
                "numpy": np.__version__,
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
            },
        }

    @classmethod
    def load(cls, directory: Path) -> LSTMAutoencoderDetector:
        """Rebuild a fitted detector from ``save`` output; the architecture comes from code, not the file."""
        from datetime import datetime

        try:
            record = json.loads((directory / RECORD_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"model artifact {directory} is missing its {RECORD_FILE}") from None
        except json.JSONDecodeError as exc:
            raise ModelError(f"model artifact {directory / RECORD_FILE} is not valid JSON: {exc}") from None
        if record.get("format") != ARTIFACT_FORMAT:
            raise ModelError(
                f"model artifact {directory} has format {record.get('format')}, expected {ARTIFACT_FORMAT}"
            )
        detector = cls(
            window=WindowConfig(**record["window"]),
            model=ModelConfig(**record["model"]),
            threshold=ThresholdConfig(**record["threshold_config"]),
            max_clusters=record["max_clusters"],
        )
        detector.channels_ = record["channels"]
        detector.scaler_ = ChannelScaler.from_dict(record["scaler"])
        detector.threshold_ = float(record["threshold"])
        detector.validation_held_out_ = record["validation_held_out"]
        detector.epochs_trained_ = record["epochs_trained"]
        detector.val_loss_ = record["val_loss"]
        detector.n_training_windows_ = record["n_training_windows"]
        detector.trained_from_ = datetime.fromisoformat(record["trained_from"])
        detector.trained_to_ = datetime.fromisoformat(record["trained_to"])
        detector.embedding_space_ = EmbeddingSpace.from_dict(record["embedding_space"])
        network = detector._network()
        try:
            network.autoencoder.load_weights(directory / WEIGHTS_FILE)
        except (OSError, ValueError) as exc:
            raise ModelError(f"model weights {directory / WEIGHTS_FILE} cannot be read: {exc}") from None
        detector.weights_ = network.autoencoder.get_weights()
        return detector

    # -- internals ---------------------------------------------------------------------------------
    def _network(self) -> Network:
        n_channels = len(self.channels_)
        return network_for(
            NetworkSpec(
                window_length=self.window.length,
                n_channels=n_channels,
                units=self.model.units,
                depth=self.model.depth,
                activation=self.model.activation,
                reverse_target=self.model.reverse_target,
                learning_rate=self.model.learning_rate,
                seed=self.model.seed,
            )
        )

    def _predict(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        network = self._network()
        network.autoencoder.set_weights(self.weights_)
        return network.predict(windows)

    def _window_errors(self, windows: np.ndarray) -> np.ndarray:
        reconstructions, _ = self._predict(windows)
        return ((reconstructions - windows) ** 2).mean(axis=(1, 2))

    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise ModelError("this detector has not been fitted: call fit() or load() first")

    def _check_channels(self, stream: PreparedStream) -> None:
        if stream.channels != self.channels_:
            raise ModelError(
                f"stream {stream.name!r} has channels {stream.channels}, but its model was trained on "
                f"{self.channels_}; retrain it"
            )
