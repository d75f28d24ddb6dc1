"""The per-stream detector: fit an LSTM autoencoder, score windows, learn a threshold, save and load.

It mirrors scikit-learn's outlier detectors: ``fit`` learns the scaler, weights, ``threshold_`` and
the embedding space; ``score`` gives window errors; ``transform`` gives encoder embeddings.

A window's error depends on the model variant (``ModelConfig.variant``): 'reconstruction' scores how
well the window is rebuilt; 'prediction' how well its last ``horizon`` rows were predicted from the
window before them (``anomaly.model.targets`` says which prediction judges which window);
'composite' the sum of both, as its training loss is. ``ScoringConfig`` then turns the residuals into
mean squared errors or Mahalanobis distances and optionally smooths them (``anomaly.scoring``).
Artifacts are the Keras weights file plus a JSON record; the architecture is rebuilt from code on
load, so loading never unpickles or deserialises code.
"""

from __future__ import annotations

import json
import platform
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from anomaly.config import ModelConfig, PipelineConfig, ScoringConfig, ThresholdConfig, WindowConfig
from anomaly.data.types import PreparedStream
from anomaly.embeddings import EmbeddingSpace
from anomaly.errors import ConfigError, DataError, ModelError
from anomaly.model.fused import fused_for, fused_supported
from anomaly.model.network import Network, NetworkOutput, NetworkSpec, network_for
from anomaly.model.targets import PredictionTargets, prediction_targets
from anomaly.scaling import ChannelScaler
from anomaly.scoring import MahalanobisScorer, error_vectors, ewma, ewma_warm_up, trailing_z
from anomaly.threshold_methods.label_tuned import labelled_windows
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

    ``starts`` (n_windows,) are start rows; ``window_errors`` (n_windows,) the error compared with
    the threshold: by default the mean squared error of each window in scaled units (averaged over
    steps and channels), else as ``ScoringConfig`` says; ``step_errors`` (n_windows, window) the
    squared error of each step averaged over channels, whatever the scoring: for a prediction it is 0
    at the steps no prediction judges, and a composite model adds both decoders' step errors.
    """

    starts: np.ndarray
    window_errors: np.ndarray
    step_errors: np.ndarray


@dataclass(frozen=True)
class _Residuals:
    """Model output minus data, in scaled units, for windows at some starts: ``reconstruction``
    (n, window, channels) and ``prediction`` (n, horizon, channels), NaN where a predicted row lies
    outside its segment, each None where the variant has no such decoder."""

    reconstruction: np.ndarray | None
    prediction: np.ndarray | None
    targets: PredictionTargets | None

    def parts(self) -> dict[str, np.ndarray]:
        """The residual arrays the variant has, by decoder name."""
        named = {"reconstruction": self.reconstruction, "prediction": self.prediction}
        return {name: residuals for name, residuals in named.items() if residuals is not None}


@dataclass(frozen=True)
class TrainingSet:
    """What ``LSTMAutoencoderDetector.prepare`` derives from a stream before training.

    ``scaler`` is fitted on the training rows (those before the chronological split, less excluded
    rows) and ``scaled`` (n_rows, channels) is the whole stream through it. ``train_windows`` and
    ``validation_windows`` (n, window, channels) are the training pairs' inputs, ``train_targets`` and
    ``validation_targets`` what the autoencoder's outputs learn (the windows themselves for the
    'reconstruction' variant); ``train_starts`` are the training windows' start rows and
    ``held_out_starts`` those of the stride-1 windows the model does not train on (all windows where
    the stream is too short to hold any out: ``validation_held_out`` is then False). ``excluded``
    (n_rows,) marks the rows no window may overlap.
    """

    channels: list[str]
    scaler: ChannelScaler
    scaled: np.ndarray
    excluded: np.ndarray
    validation_held_out: bool
    train_starts: np.ndarray
    held_out_starts: np.ndarray
    train_windows: np.ndarray
    train_targets: Any
    validation_windows: np.ndarray
    validation_targets: Any


def _batches(inputs: np.ndarray, targets: Any, batch_size: int) -> tf.data.Dataset:
    """Validation batches in time order."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((inputs, targets)).batch(batch_size)


def _shuffled_batches(inputs: np.ndarray, targets: Any, batch_size: int, seed: int) -> tf.data.Dataset:
    """Training batches reshuffled every epoch in an order fixed by ``seed`` alone.

    Keras's own ``shuffle=True`` draws op seeds from a per-process counter, so a stream's result
    would depend on how many models the same process trained before it (and on which worker of a
    pool it lands); an explicit seed makes every stream's training independent of that history.
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
    return dataset.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True).batch(batch_size)


class LSTMAutoencoderDetector:
    """LSTM autoencoder with a threshold learnt from chronological validation errors."""

    def __init__(
        self,
        *,
        window: WindowConfig,
        model: ModelConfig,
        threshold: ThresholdConfig,
        scoring: ScoringConfig | None = None,
        max_clusters: int = 8,
    ) -> None:
        self.window = window
        self.model = model
        self.threshold = threshold
        self.scoring = ScoringConfig() if scoring is None else scoring
        self.max_clusters = max_clusters

    @classmethod
    def from_config(cls, config: PipelineConfig) -> LSTMAutoencoderDetector:
        """A detector set up from the pipeline configuration."""
        return cls(
            window=config.window,
            model=config.model,
            threshold=config.threshold,
            scoring=config.scoring,
            max_clusters=config.embeddings.max_clusters,
        )

    # -- fitting -----------------------------------------------------------------------------------
    def fit(self, stream: PreparedStream, exclude_rows: np.ndarray | None = None) -> Self:
        """Train on ``stream``: the first rows for gradient steps, the last ``validation_fraction`` to
        stop early; then learn the threshold from window errors (see ``ThresholdConfig.errors``).

        ``exclude_rows`` (n_rows,) bool marks rows the model must not learn from, such as confirmed
        anomalies: every window overlapping one is left out of training, validation, the threshold
        and the reference errors, and the scaler ignores those rows.

        It is ``prepare``, training with early stopping (through the fused LSTM kernel,
        ``anomaly.model.fused``, where it computes the network, else Keras ``fit``), then ``complete``:
        a trainer of its own (``anomaly.model.fleet`` trains many streams at once) replaces only the
        middle step.
        """
        training = self.prepare(stream, exclude_rows)
        spec = self.network_spec(len(training.channels))
        if fused_supported(spec):
            fitted = fused_for(spec).fit(
                training.train_windows,
                _as_outputs(training.train_targets),
                training.validation_windows,
                _as_outputs(training.validation_targets),
                epochs=self.model.epochs,
                batch_size=self.model.batch_size,
                patience=self.model.patience,
                seed=self.model.seed,
            )
            weights, epochs_trained, val_loss = fitted.weights, fitted.epochs_trained, fitted.val_loss
        else:
            weights, epochs_trained, val_loss = self._keras_fit(spec, training)
        return self.complete(stream, training, weights, epochs_trained=epochs_trained, val_loss=val_loss)

    def _keras_fit(self, spec: NetworkSpec, training: TrainingSet) -> tuple[list[np.ndarray], int, float]:
        """Weights, epochs trained and best validation loss of a Keras ``fit`` with early stopping:
        the path of networks the fused kernel cannot compute ('relu' cells)."""
        import keras

        network = network_for(spec)
        network.reset(self.model.seed)
        history = network.autoencoder.fit(
            _shuffled_batches(
                training.train_windows, training.train_targets, self.model.batch_size, self.model.seed
            ),
            validation_data=_batches(
                training.validation_windows, training.validation_targets, self.model.batch_size
            ),
            epochs=self.model.epochs,
            shuffle=False,  # the dataset reshuffles itself, with its own seed
            verbose=0,
            callbacks=[
                keras.callbacks.EarlyStopping(patience=self.model.patience, restore_best_weights=True)
            ],
        )
        return (
            network.autoencoder.get_weights(),
            len(history.history["loss"]),
            float(min(history.history["val_loss"])),
        )

    def prepare(self, stream: PreparedStream, exclude_rows: np.ndarray | None = None) -> TrainingSet:
        """Everything ``fit`` derives from ``stream`` before training (see ``TrainingSet``); the
        detector itself is left unchanged. ``exclude_rows`` is as in ``fit``."""
        length = self.window.length
        values = stream.values.to_numpy(dtype=float)
        excluded = np.zeros(len(values), dtype=bool) if exclude_rows is None else np.asarray(exclude_rows)
        if excluded.shape != (len(values),) or excluded.dtype != bool:
            raise ValueError(f"exclude_rows must be a boolean array of shape ({len(values)},)")
        if self.model.variant != "reconstruction" and self.model.horizon > length:
            raise ConfigError(
                f"model.horizon {self.model.horizon} exceeds window.length {length}: a window is judged "
                "by the prediction of its own last rows"
            )
        # A training pair is a window plus, for a prediction decoder, the horizon rows after it.
        span = length if self.model.variant == "reconstruction" else length + self.model.horizon
        split_row = int(len(values) * (1 - self.model.validation_fraction))
        train_starts = _clear_of(
            window_starts(stream.segment[:split_row], span, self.window.train_stride), excluded, span
        )
        validation_starts = _clear_of(
            window_starts(stream.segment[split_row:], span, 1) + split_row, excluded, span
        )
        held_out = bool(len(train_starts) and len(validation_starts))
        if not held_out:
            split_row = len(values)
            train_starts = _clear_of(
                window_starts(stream.segment, span, self.window.train_stride), excluded, span
            )
            validation_starts = _clear_of(window_starts(stream.segment, span, 1), excluded, span)
        if len(train_starts) == 0:
            raise DataError(f"no complete window of {span} rows to train on", stream=stream.name)
        held_out_from = split_row if held_out else 0
        held_out_starts = _clear_of(
            window_starts(stream.segment[held_out_from:], length, 1) + held_out_from,
            excluded,
            length,
            self._judged_lookback(),
        )
        scaler = ChannelScaler.fit(values[:split_row][~excluded[:split_row]])
        scaled = scaler.transform(values)
        train_windows, train_targets = self._training_pairs(scaled, train_starts)
        validation_windows, validation_targets = self._training_pairs(scaled, validation_starts)
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

    def complete(
        self,
        stream: PreparedStream,
        training: TrainingSet,
        weights: list[np.ndarray],
        *,
        epochs_trained: int,
        val_loss: float,
    ) -> Self:
        """Finish fitting from trained ``weights`` (in ``Network.autoencoder.get_weights()`` order):
        the threshold, reference errors, Mahalanobis scorers and embedding space, as ``fit`` learns them.

        ``training`` is ``prepare(stream, ...)``; ``epochs_trained`` and ``val_loss`` (the best
        validation loss, mean squared error in scaled units) are recorded as they are.

        ``reference_errors_`` keeps up to 1,000 quantiles of the errors of the held-out windows at or
        below the threshold: errors of data the model did not train on, i.e. what new normal data
        should give, against which ``anomaly.retrain`` tests a run's errors for drift.
        """
        length = self.window.length
        scaled, held_out_starts = training.scaled, training.held_out_starts
        self.channels_ = training.channels
        self.scaler_ = training.scaler
        self.validation_held_out_ = training.validation_held_out
        self.weights_ = weights
        self.epochs_trained_ = epochs_trained
        self.val_loss_ = val_loss

        self.mahalanobis_ = {}
        if self.scoring.error == "mahalanobis":
            held_out = self._residuals(scaled, stream.segment, held_out_starts)
            self.mahalanobis_ = {
                name: MahalanobisScorer.fit(error_vectors(part)) for name, part in held_out.parts().items()
            }
        if self.threshold.errors == "validation":
            threshold_starts = held_out_starts
        else:
            threshold_starts = _clear_of(
                window_starts(stream.segment, length, 1), training.excluded, length, self._judged_lookback()
            )
        threshold_errors = self._scores(scaled, stream.segment, threshold_starts).window_errors
        # Only a prediction in a segment of exactly one window has no error (see anomaly.model.targets).
        scored = np.isfinite(threshold_errors)
        threshold_starts, threshold_errors = threshold_starts[scored], threshold_errors[scored]
        labelled = None
        if self.threshold.method == "label_tuned":
            labelled = labelled_windows(self.threshold.labels, stream, threshold_starts, length)
        try:
            self.threshold_ = learn_threshold(threshold_errors, self.threshold, labelled=labelled)
        except ValueError as exc:  # e.g. too few windows for SPOT's tail: this stream's problem, said so
            raise DataError(f"cannot learn the threshold: {exc}", stream=stream.name) from None
        reference_errors = threshold_errors[np.isin(threshold_starts, held_out_starts)]
        self.reference_errors_ = _quantile_sample(reference_errors[reference_errors <= self.threshold_])
        self.embedding_space_ = EmbeddingSpace.fit(
            self.transform(training.train_windows), max_clusters=self.max_clusters, seed=self.model.seed
        )
        self.trained_from_ = stream.values.index[0].to_pydatetime()
        self.trained_to_ = stream.values.index[-1].to_pydatetime()
        self.n_training_windows_ = len(training.train_starts)
        return self

    def network_spec(self, n_channels: int) -> NetworkSpec:
        """The architecture this detector trains for a stream of ``n_channels`` channels: streams with
        equal specs can share one network (``network_for``) or be trained together."""
        return NetworkSpec(
            window_length=self.window.length,
            n_channels=n_channels,
            units=self.model.units,
            depth=self.model.depth,
            activation=self.model.activation,
            reverse_target=self.model.reverse_target,
            variant=self.model.variant,
            horizon=0 if self.model.variant == "reconstruction" else self.model.horizon,
            learning_rate=self.model.learning_rate,
            seed=self.model.seed,
        )

    # -- scoring -----------------------------------------------------------------------------------
    def score(self, stream: PreparedStream, *, first_row: int = 0) -> WindowScores:
        """Errors of every stride-1 window ending at or after ``first_row`` (so each row is covered).

        With EWMA smoothing or trailing z-scores, earlier windows (``ewma_warm_up`` plus ``trailing``)
        are scored too and dropped, so that an incremental run's errors match a one-shot run's (to
        ``EWMA_TOLERANCE``).
        """
        self._check_fitted()
        self._check_channels(stream)
        length = self.window.length
        warm_up = ewma_warm_up(self.scoring.ewma_alpha) + (self.scoring.trailing or 0)
        starts = window_starts(stream.segment, length, 1, first_end=max(first_row - warm_up, 0))
        scaled = self.scaler_.transform(stream.values.to_numpy(dtype=float))
        scores = self._scores(scaled, stream.segment, starts)
        wanted = starts + length - 1 >= first_row
        return WindowScores(
            starts=starts[wanted],
            window_errors=scores.window_errors[wanted],
            step_errors=scores.step_errors[wanted],
        )

    def predict(self, window_errors: np.ndarray) -> np.ndarray:
        """Flags: True where a window's error is above the learnt threshold."""
        self._check_fitted()
        return np.asarray(window_errors) > self.threshold_

    def transform(self, windows: np.ndarray) -> np.ndarray:
        """Encoder embeddings (n_windows, units) of scaled ``windows`` (n_windows, window, channels)."""
        self._check_fitted()
        return self._predict(windows).embeddings

    def reconstruct(self, stream: PreparedStream, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the windows at ``starts``: the model's version of them (n, window, channels) in the data's
        units, and their embeddings (n, units).

        A reconstruction decoder's output where the variant has one; for 'prediction', the window
        with the rows its judging prediction covers replaced by the predicted values (the other rows,
        which no prediction judges, keep the data's values and so show no error).
        """
        self._check_fitted()
        scaled = self.scaler_.transform(stream.values.to_numpy(dtype=float))
        windows = gather_windows(scaled, starts, self.window.length)
        output = self._predict(windows)
        fitted = output.reconstructions
        if fitted is None:
            residuals = self._residuals(scaled, stream.segment, starts)
            fitted = windows + _at_offsets(residuals.prediction, residuals.targets, self.window.length, 0.0)
        return self.scaler_.inverse_transform(fitted), output.embeddings

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
            "threshold_config": self.threshold.model_dump(mode="json"),
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
            "scoring": self.scoring.model_dump(),
            "mahalanobis": {name: scorer.to_dict() for name, scorer in self.mahalanobis_.items()},
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
            scoring=ScoringConfig(**record.get("scoring", {})),
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
        detector.mahalanobis_ = {
            name: MahalanobisScorer.from_dict(data) for name, data in record.get("mahalanobis", {}).items()
        }
        network = detector._network()
        try:
            network.autoencoder.load_weights(directory / WEIGHTS_FILE)
        except (OSError, ValueError) as exc:
            raise ModelError(f"model weights {directory / WEIGHTS_FILE} cannot be read: {exc}") from None
        detector.weights_ = network.autoencoder.get_weights()
        return detector

    # -- internals ---------------------------------------------------------------------------------
    def _network(self) -> Network:
        return network_for(self.network_spec(len(self.channels_)))

    def _predict(self, windows: np.ndarray) -> NetworkOutput:
        spec = self.network_spec(len(self.channels_))
        if fused_supported(spec):
            return fused_for(spec).predict(self.weights_, windows)
        network = network_for(spec)
        network.autoencoder.set_weights(self.weights_)
        return network.predict(windows)

    def _judged_lookback(self) -> int:
        """Rows before a window that its error depends on: a prediction judges a window from the window
        ``horizon`` rows earlier (``anomaly.model.targets``), so excluded rows there must keep it out."""
        return 0 if self.model.variant == "reconstruction" else self.model.horizon

    def _training_pairs(self, scaled: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, Any]:
        """Inputs (n, window, channels) at ``starts`` and the targets the autoencoder's outputs learn:
        the windows, the ``horizon`` rows after them, or both (composite)."""
        windows = gather_windows(scaled, starts, self.window.length)
        if self.model.variant == "reconstruction":
            return windows, windows
        futures = gather_windows(scaled, starts + self.window.length, self.model.horizon)
        return windows, futures if self.model.variant == "prediction" else (windows, futures)

    def _residuals(self, scaled: np.ndarray, segment: np.ndarray, starts: np.ndarray) -> _Residuals:
        """Each decoder's residuals for the windows at ``starts`` (see ``anomaly.model.targets``)."""
        length = self.window.length
        windows = gather_windows(scaled, starts, length)
        if self.model.variant == "reconstruction":
            return _Residuals(self._predict(windows).reconstructions - windows, None, None)
        targets = prediction_targets(segment, starts, length, self.model.horizon)
        composite = self.model.variant == "composite"
        inputs = np.unique(np.concatenate([starts, targets.inputs]) if composite else targets.inputs)
        output = self._predict(gather_windows(scaled, inputs, length))
        predictions = output.predictions[np.searchsorted(inputs, targets.inputs)]
        actual = scaled[np.minimum(targets.rows, len(scaled) - 1)]
        prediction = np.where(targets.valid[:, :, None], predictions - actual, np.nan)
        reconstruction = None
        if composite:
            reconstruction = output.reconstructions[np.searchsorted(inputs, starts)] - windows
        return _Residuals(reconstruction, prediction, targets)

    def _scores(self, scaled: np.ndarray, segment: np.ndarray, starts: np.ndarray) -> WindowScores:
        """Window and step errors of the windows at ``starts``, as configured, before any warm-up
        windows are dropped: each decoder's error (MSE or Mahalanobis) summed, then smoothed."""
        residuals = self._residuals(scaled, segment, starts)
        step_parts, window_parts = [], []
        for name, part in residuals.parts().items():
            squared = (part**2).mean(axis=2)
            if name == "reconstruction":
                steps, mse = squared, squared.mean(axis=1)
            else:
                steps = _at_offsets(squared[:, :, None], residuals.targets, self.window.length, 0.0)[:, :, 0]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # no target at all: NaN, by design
                    mse = np.nanmean(squared, axis=1)
            step_parts.append(steps)
            if self.scoring.error == "mahalanobis":
                window_parts.append(self.mahalanobis_[name].window_errors(error_vectors(part)))
            else:
                window_parts.append(mse)
        window_errors = sum(window_parts[1:], window_parts[0])
        if self.scoring.ewma_alpha is not None:
            window_errors = ewma(window_errors, starts, self.scoring.ewma_alpha)
        if self.scoring.trailing is not None:
            window_errors = trailing_z(window_errors, starts, self.scoring.trailing)
        step_errors = sum(step_parts[1:], step_parts[0])
        return WindowScores(starts=starts, window_errors=window_errors, step_errors=step_errors)

    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise ModelError("this detector has not been fitted: call fit() or load() first")

    def _check_channels(self, stream: PreparedStream) -> None:
        if stream.channels != self.channels_:
            raise ModelError(
                f"stream {stream.name!r} has channels {stream.channels}, but its model was trained on "
                f"{self.channels_}; retrain it"
            )


def _as_outputs(targets: Any) -> tuple[np.ndarray, ...]:
    """``TrainingSet`` targets as one array per decoder output (composite targets are a pair)."""
    return targets if isinstance(targets, tuple) else (targets,)


def _at_offsets(values: np.ndarray, targets: PredictionTargets, length: int, fill: float) -> np.ndarray:
    """Predicted-row ``values`` (n, horizon, k) placed at their rows' positions in the judged windows:
    (n, length, k), ``fill`` where no valid predicted row falls."""
    placed = np.full((len(values), length, values.shape[2]), fill)
    inside = targets.valid & (targets.offsets >= 0) & (targets.offsets < length)
    window, step = np.nonzero(inside)
    placed[window, targets.offsets[window, step]] = values[window, step]
    return placed


def _clear_of(starts: np.ndarray, excluded: np.ndarray, length: int, lookback: int = 0) -> np.ndarray:
    """The ``starts`` whose window of ``length`` rows, and the ``lookback`` rows before it, contain no
    ``excluded`` row."""
    excluded_before = np.concatenate(([0], np.cumsum(excluded)))
    return starts[excluded_before[starts + length] == excluded_before[np.maximum(starts - lookback, 0)]]


def _quantile_sample(errors: np.ndarray, size: int = REFERENCE_SIZE) -> np.ndarray:
    """At most ``size`` evenly spaced quantiles of ``errors`` (all of them, sorted, when fewer), kept to
    six significant digits: a compact stand-in for the distribution in the JSON record."""
    errors = np.sort(np.asarray(errors, dtype=float))
    if len(errors) > size:
        errors = np.quantile(errors, np.linspace(0, 1, size))
    return np.array([float(f"{error:.6g}") for error in errors])
