"""The article's reconstruction LSTM autoencoder, built once per architecture and reused.

Encoder LSTM(s) -> RepeatVector -> decoder LSTM(s) -> TimeDistributed(Dense): the decoder rebuilds
the window from the encoder's final state, which is also the window's fixed-length embedding (the
article's standalone encoder). Building and tracing a Keras model costs seconds, so networks are
cached per architecture and reset to seeded initial weights for each stream: training many streams
then pays the build and trace cost once.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np

# TensorFlow's C++ start-up chatter (e.g. unknown graph attributes) is not actionable for users;
# real failures still surface as Python exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@dataclass(frozen=True)
class NetworkSpec:
    """Everything that fixes the network's shape and optimiser."""

    window_length: int
    n_channels: int
    units: int
    depth: int
    activation: str
    reverse_target: bool
    learning_rate: float
    seed: int


class Network:
    """A compiled autoencoder plus a scorer sharing its layers (reconstruction and embedding at once)."""

    def __init__(self, spec: NetworkSpec) -> None:
        import keras
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        keras.utils.set_random_seed(spec.seed)
        self.spec = spec
        seeds = itertools.count(spec.seed)
        inputs = keras.Input(shape=(spec.window_length, spec.n_channels), name="window")
        hidden = inputs
        for level in range(spec.depth):
            last = level == spec.depth - 1
            hidden = keras.layers.LSTM(
                spec.units,
                activation=spec.activation,
                return_sequences=not last,
                name=f"encoder_{level}",
                **_lstm_initializers(seeds),
            )(hidden)
        embedding = hidden
        hidden = keras.layers.RepeatVector(spec.window_length, name="repeat")(embedding)
        for level in range(spec.depth):
            hidden = keras.layers.LSTM(
                spec.units,
                activation=spec.activation,
                return_sequences=True,
                name=f"decoder_{level}",
                **_lstm_initializers(seeds),
            )(hidden)
        output = keras.layers.Dense(
            spec.n_channels, kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds))
        )
        reconstruction = keras.layers.TimeDistributed(output, name="output")(hidden)
        if spec.reverse_target:
            # The decoder emits the window last step first (Srivastava et al. 2015): its first outputs
            # depend on the inputs the encoder saw last, which makes the optimisation easier.
            reconstruction = keras.layers.Lambda(lambda steps: keras.ops.flip(steps, axis=1), name="reverse")(
                reconstruction
            )
        self.autoencoder = keras.Model(inputs, reconstruction, name="lstm_autoencoder")
        self.autoencoder.compile(optimizer=keras.optimizers.Adam(spec.learning_rate), loss="mse")
        self.scorer = keras.Model(inputs, [reconstruction, embedding], name="scorer")
        self.initial_weights = self.autoencoder.get_weights()

    def reset(self, seed: int) -> None:
        """Back to the seeded initial weights and a fresh optimiser state, as if newly built."""
        import keras

        keras.utils.set_random_seed(seed)
        self.autoencoder.set_weights(self.initial_weights)
        for variable in self.autoencoder.optimizer.variables:
            if variable.name != "learning_rate":
                variable.assign(np.zeros(variable.shape, dtype=variable.dtype))

    def predict(self, windows: np.ndarray, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """Reconstructions (n, window, channels) and embeddings (n, units) of scaled ``windows``."""
        reconstructions, embeddings = [], []
        for begin in range(0, len(windows), batch_size):
            reconstruction, embedding = self.scorer.predict_on_batch(windows[begin : begin + batch_size])
            reconstructions.append(np.asarray(reconstruction))
            embeddings.append(np.asarray(embedding))
        if not reconstructions:
            shape = windows.shape
            return np.empty(shape, dtype=np.float32), np.empty((0, self.spec.units), dtype=np.float32)
        return np.concatenate(reconstructions), np.concatenate(embeddings)


def _lstm_initializers(seeds: Iterator[int]) -> dict[str, object]:
    """Initialisers with explicit seeds: Keras's default ones draw their seeds from Python's global
    ``random``, which other threads of the process (a Dask worker's, for one) also draw from, so the
    initial weights, and with them the flags, would depend on what else the process was doing."""
    import keras

    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=next(seeds)),
        "recurrent_initializer": keras.initializers.Orthogonal(seed=next(seeds)),
    }


@cache
def network_for(spec: NetworkSpec) -> Network:
    """The shared network for ``spec``, built on first use."""
    return Network(spec)
