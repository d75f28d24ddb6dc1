"""The LSTM autoencoder detector: the article's model, composed of a training set, a trainer, a window
scorer and a threshold.

A window's error depends on the model variant (``ModelConfig.variant``): 'reconstruction' scores how
well the window is rebuilt; 'prediction' how well its last ``horizon`` rows were predicted from the
window before them (``anomaly.model.targets`` says which prediction judges which window);
'composite' the sum of both, as its training loss is. The roles:

- ``anomaly.model.training_set`` cuts the training, validation and held-out windows in time order;
- a trainer (``anomaly.model.trainers``: the fused kernel for tanh, Keras otherwise) learns the weights;
- ``anomaly.model.residuals`` and ``anomaly.scoring.WindowScorer`` turn outputs into window errors;
- a threshold method (``anomaly.thresholds``) is learnt from the errors of the fitted windows.

``fit`` is ``prepare``, a trainer's ``fit``, then ``complete``, so a trainer of many streams at once
(``benchmarks/perf/fleet.py``) replaces only the middle step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from anomaly.config import ModelConfig, PipelineConfig, ScoringConfig, ThresholdConfig, WindowConfig
from anomaly.data.types import PreparedStream
from anomaly.detectors.base import Detector, LabelIntervals
from anomaly.embeddings import EmbeddingSpace
from anomaly.errors import ModelError
from anomaly.model.fit_result import FitResult
from anomaly.model.inference import LayerWeights, forward
from anomaly.model.network import NetworkOutput, NetworkSpec, network_for, weighted_layers
from anomaly.model.residuals import Residuals, at_offsets, variant_residuals
from anomaly.model.trainers import Trainer, trainer_for
from anomaly.model.training_set import TrainingSet, build_training_set, clear_of, judged_lookback
from anomaly.model.weights_file import layer_weights, read_layer_weights
from anomaly.results import WindowScores
from anomaly.scoring import WindowScorer
from anomaly.thresholds import threshold_config
from anomaly.windowing import window_starts

WEIGHTS_FILE = "weights.weights.h5"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class LSTMAutoencoderDetector(Detector):
    """LSTM autoencoder with a threshold learnt from the window errors of the fitted rows.

    Fitted state besides ``Detector``'s: ``weights_`` (Keras ``get_weights()`` order),
    ``weights_layout_`` (the weighted layers in that order), ``window_scorer_``,
    ``validation_held_out_`` and ``epochs_trained_``. Scoring and embedding use the NumPy forward pass
    (``anomaly.model.inference``) on ``layer_weights_``, so a loaded detector scores without TensorFlow.
    """

    name = "lstm_autoencoder"
    _weights: list[np.ndarray] | None = None
    _weights_file: Path | None = None
    _layers: LayerWeights | None = None
    _layout: list[str] | None = None

    def __init__(
        self,
        *,
        window: WindowConfig,
        model: ModelConfig,
        threshold: ThresholdConfig,
        scoring: ScoringConfig | None = None,
        max_clusters: int = 8,
    ) -> None:
        super().__init__(window=window, threshold=threshold, max_clusters=max_clusters)
        self.model = model
        self.scoring = ScoringConfig() if scoring is None else scoring

    @classmethod
    def from_config(cls, config: PipelineConfig) -> Self:
        """A detector set up from the pipeline configuration."""
        return cls(
            window=config.window,
            model=config.model,
            threshold=config.threshold,
            scoring=config.scoring,
            max_clusters=config.embeddings.max_clusters,
        )

    # -- fitting -----------------------------------------------------------------------------------
    def _fit_core(self, stream: PreparedStream, excluded: np.ndarray, labels: LabelIntervals | None) -> None:
        training = self.prepare(stream, excluded)
        fitted = self.trainer(len(training.channels)).fit(training, self.model)
        self.complete(stream, training, fitted, labels=labels)

    def prepare(self, stream: PreparedStream, exclude_rows: np.ndarray | None = None) -> TrainingSet:
        """Everything fitting derives from ``stream`` before training; the detector is left unchanged."""
        return build_training_set(stream, self.window, self.model, exclude_rows)

    def trainer(self, n_channels: int) -> Trainer:
        """The trainer of this detector's network for a stream of ``n_channels`` channels."""
        return trainer_for(self.network_spec(n_channels))

    def complete(
        self,
        stream: PreparedStream,
        training: TrainingSet,
        fitted: FitResult,
        *,
        labels: LabelIntervals | None = None,
    ) -> Self:
        """Finish fitting from trained weights: the window scorer, threshold, reference errors and
        embedding space. ``training`` is ``prepare(stream, ...)``; ``fitted`` any trainer's result."""
        length = self.window.length
        scaled, held_out_starts = training.scaled, training.held_out_starts
        self.channels_ = training.channels
        self.scaler_ = training.scaler
        self.validation_held_out_ = training.validation_held_out
        self.weights_ = fitted.weights
        self._layout = weighted_layers(self.network_spec(len(training.channels)))
        self.epochs_trained_ = fitted.epochs_trained
        self.val_loss_ = fitted.val_loss
        self.n_training_windows_ = len(training.train_starts)
        self.window_scorer_ = WindowScorer(config=self.scoring, window_length=length).fit(
            lambda: self._residuals(scaled, stream.segment, held_out_starts)
        )
        if self.threshold.errors == "validation":
            threshold_starts = held_out_starts
        else:
            threshold_starts = clear_of(
                window_starts(stream.segment, length, 1),
                training.excluded,
                length,
                judged_lookback(self.model),
            )
        threshold_errors = self._scores(scaled, stream.segment, threshold_starts).window_errors
        self._learn_threshold(stream, threshold_starts, threshold_errors, labels, held_out_starts)
        self.embedding_space_ = EmbeddingSpace.fit(
            self._embed(training.train_windows),
            max_clusters=self.max_clusters,
            seed=self.model.seed,
        )
        self._record_training_span(stream)
        return self

    def network_spec(self, n_channels: int) -> NetworkSpec:
        """The architecture this detector trains for a stream of ``n_channels`` channels: streams with
        equal specs share one network and one traced trainer."""
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

    def training_summary(self) -> str:
        """Epochs and threshold, for the run log."""
        return f"{self.epochs_trained_} epochs, threshold {self.threshold_:.4g}"

    # -- scoring -----------------------------------------------------------------------------------
    def _score_core(self, stream: PreparedStream, first_row: int) -> WindowScores:
        length = self.window.length
        first_end = max(first_row - self.window_scorer_.warm_up, 0)
        starts = window_starts(stream.segment, length, 1, first_end=first_end)
        scaled = self.scaler_.transform(stream.values.to_numpy(dtype=float))
        scores = self._scores(scaled, stream.segment, starts)
        wanted = starts + length - 1 >= first_row
        return WindowScores(
            starts=starts[wanted],
            window_errors=scores.window_errors[wanted],
            step_errors=scores.step_errors[wanted],
        )

    def history_rows_needed(self, frequency: pd.Timedelta) -> int:
        """The window, the ``horizon`` rows before it that a prediction judging it is made from, and the
        windows the scorer warms its smoothing up on (``WindowScorer.warm_up``)."""
        return self.window.length + judged_lookback(self.model) + self.window_scorer_.warm_up

    def reconstruct(self, stream: PreparedStream, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the windows at ``starts``: the model's version of them (n, window, channels) in the data's
        units, and their embeddings (n, units).

        A reconstruction decoder's output where the variant has one; for 'prediction', the window
        with the rows its judging prediction covers replaced by the predicted values (the other rows,
        which no prediction judges, keep the data's values and so show no error).
        """
        self._check_fitted()
        windows = self._scaled_windows(stream, starts)
        output = self._outputs(windows)
        fitted = output.reconstructions
        if fitted is None:
            scaled = self.scaler_.transform(stream.values.to_numpy(dtype=float))
            residuals = self._residuals(scaled, stream.segment, starts)
            fitted = windows + at_offsets(residuals.prediction, residuals.targets, self.window.length, 0.0)
        return self.scaler_.inverse_transform(fitted), output.embeddings

    # -- persistence -------------------------------------------------------------------------------
    def _record_core(self) -> dict[str, Any]:
        import keras
        import tensorflow as tf

        return {
            "model": self.model.model_dump(),
            "scoring": self.scoring.model_dump(),
            "validation_held_out": self.validation_held_out_,
            "epochs_trained": self.epochs_trained_,
            "mahalanobis": self.window_scorer_.to_dict(),
            "weights_layout": self.weights_layout_,
            "framework_versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        }

    def _save_files(self, directory: Path) -> None:
        network = network_for(self.network_spec(len(self.channels_)))
        network.autoencoder.set_weights(self.weights_)
        network.autoencoder.save_weights(directory / WEIGHTS_FILE)

    @classmethod
    def _unfitted_from_record(cls, record: dict[str, Any]) -> Self:
        return cls(
            window=WindowConfig(**record["window"]),
            model=ModelConfig(**record["model"]),
            threshold=threshold_config(record["threshold_config"]),
            scoring=ScoringConfig(**record.get("scoring", {})),
            max_clusters=record["max_clusters"],
        )

    def _restore_core(self, record: dict[str, Any], directory: Path) -> None:
        self.validation_held_out_ = record["validation_held_out"]
        self.epochs_trained_ = record["epochs_trained"]
        self.window_scorer_ = WindowScorer.from_dict(
            record.get("mahalanobis", {}), config=self.scoring, window_length=self.window.length
        )
        weights_file = directory / WEIGHTS_FILE
        try:
            with weights_file.open("rb") as file:
                signature = file.read(len(HDF5_SIGNATURE))
        except OSError as exc:
            raise ModelError(f"model weights {weights_file} cannot be read: {exc}") from None
        if signature != HDF5_SIGNATURE:
            raise ModelError(f"model weights {weights_file} cannot be read: not an HDF5 file")
        self._weights, self._weights_file, self._layers = None, weights_file, None
        self._layout = record.get("weights_layout")  # absent from artifacts saved before it was recorded

    @property
    def weights_(self) -> list[np.ndarray]:
        """The network's weights (Keras ``get_weights()`` order). A loaded detector reads them from its
        artifact on first use: that needs TensorFlow, which a run whose streams have nothing new to
        score, or that only asks ``history_rows_needed``, should not pay for."""
        if self._weights is None:
            self._check_fitted()
            network = network_for(self.network_spec(len(self.channels_)))
            try:
                network.autoencoder.load_weights(self._weights_file)
            except (OSError, ValueError) as exc:
                raise ModelError(f"model weights {self._weights_file} cannot be read: {exc}") from None
            self._weights = network.autoencoder.get_weights()
        return self._weights

    @weights_.setter
    def weights_(self, weights: list[np.ndarray]) -> None:
        self._weights, self._layers = weights, None

    @property
    def weights_layout_(self) -> list[str]:
        """The network's weighted layers in ``get_weights()`` order (built with Keras where an artifact
        saved before the layout was recorded does not say)."""
        if self._layout is None:
            self._layout = weighted_layers(self.network_spec(len(self.channels_)))
        return self._layout

    @property
    def layer_weights_(self) -> LayerWeights:
        """The weights by layer, for the forward pass: split from ``weights_`` where they are in memory,
        else read from the artifact's weights file with h5py (no TensorFlow), or through Keras for an
        artifact without a recorded layout."""
        if self._layers is None:
            if self._weights is None and self._weights_file is not None and self._layout is not None:
                self._layers = read_layer_weights(self._weights_file, self._layout)
            else:  # in memory while fitting (before the threshold is learnt), or an older artifact
                self._layers = layer_weights(self.weights_layout_, self.weights_)
        return self._layers

    # -- internals ---------------------------------------------------------------------------------
    def _embed(self, windows: np.ndarray) -> np.ndarray:
        return self._outputs(windows).embeddings

    def _outputs(self, windows: np.ndarray) -> NetworkOutput:
        return forward(self.network_spec(len(self.channels_)), self.layer_weights_, windows)

    def _residuals(self, scaled: np.ndarray, segment: np.ndarray, starts: np.ndarray) -> Residuals:
        return variant_residuals(
            self._outputs, self.model.variant, self.model.horizon, scaled, segment, starts, self.window.length
        )

    def _scores(self, scaled: np.ndarray, segment: np.ndarray, starts: np.ndarray) -> WindowScores:
        """Window and step errors of the windows at ``starts``, before any warm-up windows are dropped."""
        return self.window_scorer_.score(self._residuals(scaled, segment, starts), starts)
