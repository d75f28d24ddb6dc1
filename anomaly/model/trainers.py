"""Trainers: one interface over the two ways an LSTM autoencoder is trained, returning one ``FitResult``.

- ``FusedTrainer``: TensorFlow's fused BlockLSTM kernel (``anomaly.model.fused``), for tanh cells,
  several times faster than Keras on CPUs.
- ``KerasTrainer``: Keras ``fit`` with early stopping, for what the fused op cannot compute (relu).

Both start from the network's seeded initial weights, reshuffle the training windows every epoch in
an order fixed by the seed alone, and keep the best epoch's weights, so a stream's result never
depends on what the process trained before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from anomaly.config import ModelConfig
from anomaly.model.fit_result import FitResult
from anomaly.model.fused import fused_for, fused_supported
from anomaly.model.network import NetworkSpec, network_for
from anomaly.model.training_set import TrainingSet

if TYPE_CHECKING:
    import tensorflow as tf


class Trainer(Protocol):
    """Trains the network of one architecture (scoring needs no trainer: ``anomaly.model.inference``)."""

    def fit(self, training: TrainingSet, model: ModelConfig) -> FitResult:
        """Train from seeded initial weights with early stopping on ``training``'s validation windows."""
        ...


class FusedTrainer:
    """The fused-kernel path, shared per architecture (``fused_for`` caches the traced functions)."""

    def __init__(self, spec: NetworkSpec) -> None:
        self.spec = spec

    def fit(self, training: TrainingSet, model: ModelConfig) -> FitResult:
        """See ``anomaly.model.fused.FusedAutoencoder.fit``."""
        return fused_for(self.spec).fit(
            training.train_windows,
            training.train_targets,
            training.validation_windows,
            training.validation_targets,
            epochs=model.epochs,
            batch_size=model.batch_size,
            patience=model.patience,
            seed=model.seed,
        )


class KerasTrainer:
    """The Keras path, on the network cached per architecture (``network_for``)."""

    def __init__(self, spec: NetworkSpec) -> None:
        self.spec = spec

    def fit(self, training: TrainingSet, model: ModelConfig) -> FitResult:
        """Keras ``fit`` with ``EarlyStopping(patience, restore_best_weights=True)``."""
        import keras

        network = network_for(self.spec)
        network.reset(model.seed)
        history = network.autoencoder.fit(
            _shuffled_batches(
                training.train_windows,
                training.keras_targets(training.train_targets),
                model.batch_size,
                model.seed,
            ),
            validation_data=_batches(
                training.validation_windows,
                training.keras_targets(training.validation_targets),
                model.batch_size,
            ),
            epochs=model.epochs,
            shuffle=False,  # the dataset reshuffles itself, with its own seed
            verbose=0,
            callbacks=[keras.callbacks.EarlyStopping(patience=model.patience, restore_best_weights=True)],
        )
        return FitResult(
            weights=network.autoencoder.get_weights(),
            val_loss=float(min(history.history["val_loss"])),
            epochs_trained=len(history.history["loss"]),
        )


def trainer_for(spec: NetworkSpec) -> Trainer:
    """The fastest trainer that computes ``spec``'s network exactly."""
    return FusedTrainer(spec) if fused_supported(spec) else KerasTrainer(spec)


def _batches(inputs: np.ndarray, targets: object, batch_size: int) -> tf.data.Dataset:
    """Validation batches in time order."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((inputs, targets)).batch(batch_size)


def _shuffled_batches(inputs: np.ndarray, targets: object, batch_size: int, seed: int) -> tf.data.Dataset:
    """Training batches reshuffled every epoch in an order fixed by ``seed`` alone.

    Keras's own ``shuffle=True`` draws op seeds from a per-process counter, so a stream's result
    would depend on how many models the same process trained before it (and on which worker of a
    pool it lands); an explicit seed makes every stream's training independent of that history.
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
    return dataset.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
