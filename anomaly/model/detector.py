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
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from anomaly.config import ModelConfig, PipelineConfig, ThresholdConfig, WindowConfig
from anomaly.data.types import PreparedStream
from anomaly.embeddings import EmbeddingSpace
from anomaly.errors import DataError, ModelError
from anomaly.model.network import Network, NetworkSpec, network_for
from anomaly.scaling import ChannelScaler
from anomaly.thresholds import learn_threshold
from anomaly.windowing import gather_windows, window_starts

if TYPE_CHECKING:
    import tensorflow as tf

ARTIFACT_FORMAT = 1
WEIGHTS_FILE = "weights.weights.h5"
RECORD_FILE = "model.json"
REFERENCE_SIZE = 1000


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


def _batches(windows: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """Validation batches in time order."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((windows, windows)).batch(batch_size)


def _shuffled_batches(windows: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """Training batches reshuffled every epoch in an order fixed by ``seed`` alone.

    Keras's own ``shuffle=True`` draws op seeds from a per-process counter, so a stream's result
    would depend on how many models the same process trained before it (and on which worker of a
    pool it lands); an explicit seed makes every stream's training independent of that history.
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((windows, windows))
    return dataset.shuffle(len(windows), seed=seed, reshuffle_each_iteration=True).batch(batch_size)


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
    def fit(self, stream: PreparedStream, exclude_rows: np.ndarray | None = None) -> Self:
        """Train on ``stream``: the first rows for gradient steps, the last ``validation_fraction`` to
        stop early; then learn the threshold from window errors (see ``ThresholdConfig.errors``).

        ``exclude_rows`` (n_rows,) bool marks rows the model must not learn from, such as confirmed
        anomalies: every window overlapping one is left out of training, validation, the threshold
        and the reference errors, and the scaler ignores those rows.

        ``reference_errors_`` keeps up to 1,000 quantiles of the errors of the held-out windows at or
        below the threshold: errors of data the model did not train on, i.e. what new normal data
        should give, against which ``anomaly.retrain`` tests a run's errors for drift.
        """
        length = self.window.length
        values = stream.values.to_numpy(dtype=float)
        excluded = np.zeros(len(values), dtype=bool) if exclude_rows is None else np.asarray(exclude_rows)
        if excluded.shape != (len(values),) or excluded.dtype != bool:
            raise ValueError(f"exclude_rows must be a boolean array of shape ({len(values)},)")
        split_row = int(len(values) * (1 - self.model.validation_fraction))
        train_starts = _clear_of(
            window_starts(stream.segment[:split_row], length, self.window.train_stride), excluded, length
        )
        validation_starts = _clear_of(
            window_starts(stream.segment[split_row:], length, 1) + split_row, excluded, length
        )
        self.validation_held_out_ = bool(len(train_starts) and len(validation_starts))
        if not self.validation_held_out_:
            split_row = len(values)
            train_starts = _clear_of(
                window_starts(stream.segment, length, self.window.train_stride), excluded, length
            )
            validation_starts = _clear_of(window_starts(stream.segment, length, 1), excluded, length)
        if len(train_starts) == 0:
            raise DataError(f"no complete window of {length} rows to train on", stream=stream.name)

        self.channels_ = stream.channels
        self.scaler_ = ChannelScaler.fit(values[:split_row][~excluded[:split_row]])
        scaled = self.scaler_.transform(values)
        train_windows = gather_windows(scaled, train_starts, length)
        validation_windows = gather_windows(scaled, validation_starts, length)

        network = self._network()
        network.reset(self.model.seed)
        import keras

        history = network.autoencoder.fit(
            _shuffled_batches(train_windows, self.model.batch_size, self.model.seed),
            validation_data=_batches(validation_windows, self.model.batch_size),
            epochs=self.model.epochs,
            shuffle=False,  # the dataset reshuffles itself, with its own seed
            verbose=0,
            callbacks=[
                keras.callbacks.EarlyStopping(patience=self.model.patience, restore_best_weights=True)
            ],
        )
        self.weights_ = network.autoencoder.get_weights()
        self.epochs_trained_ = len(history.history["loss"])
        self.val_loss_ = float(min(history.history["val_loss"]))

        if self.threshold.errors == "validation":
            threshold_starts = validation_starts
        else:
            threshold_starts = _clear_of(window_starts(stream.segment, length, 1), excluded, length)
        threshold_errors = self._window_errors(gather_windows(scaled, threshold_starts, length))
        self.threshold_ = learn_threshold(threshold_errors, self.threshold)
        reference_errors = threshold_errors[np.isin(threshold_starts, validation_starts)]
        self.reference_errors_ = _quantile_sample(reference_errors[reference_errors <= self.threshold_])
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
            "reference_errors": self.reference_errors_.tolist(),
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
        detector.reference_errors_ = np.asarray(record.get("reference_errors", []), dtype=float)
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


def _clear_of(starts: np.ndarray, excluded: np.ndarray, length: int) -> np.ndarray:
    """The ``starts`` whose window of ``length`` rows contains no ``excluded`` row."""
    excluded_before = np.concatenate(([0], np.cumsum(excluded)))
    return starts[excluded_before[starts + length] == excluded_before[starts]]


def _quantile_sample(errors: np.ndarray, size: int = REFERENCE_SIZE) -> np.ndarray:
    """At most ``size`` evenly spaced quantiles of ``errors`` (all of them, sorted, when fewer), kept to
    six significant digits: a compact stand-in for the distribution in the JSON record."""
    errors = np.sort(np.asarray(errors, dtype=float))
    if len(errors) > size:
        errors = np.quantile(errors, np.linspace(0, 1, size))
    return np.array([float(f"{error:.6g}") for error in errors])
