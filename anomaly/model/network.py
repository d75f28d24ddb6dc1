"""The article's LSTM autoencoders (reconstruction, prediction, composite), built once per architecture.

Encoder LSTM(s) -> RepeatVector -> decoder LSTM(s) -> TimeDistributed(Dense): a reconstruction
decoder rebuilds the window, a prediction decoder emits the ``horizon`` rows after it, and the
composite model has both on one encoder (Srivastava et al. 2015). The encoder's final state is the
window's fixed-length embedding in every variant (the article's standalone encoder). Building and
tracing a Keras model costs seconds, so networks are cached per architecture and reset to seeded
initial weights for each stream: training many streams then pays the build and trace cost once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np


@dataclass(frozen=True)
class NetworkSpec:
    """Everything that fixes the network's shape and optimiser."""

    window_length: int
    n_channels: int
    variant: Literal["reconstruction", "prediction", "composite"]
    horizon: int
    units: int
    depth: int
    activation: str
    reverse_target: bool
    learning_rate: float
    seed: int


@dataclass(frozen=True)
class NetworkOutput:
    """What the network makes of scaled windows: ``reconstructions`` (n, window, channels) unless the
    variant is 'prediction', ``predictions`` (n, horizon, channels) of the rows after each window
    unless it is 'reconstruction', and ``embeddings`` (n, units)."""

    reconstructions: np.ndarray | None
    predictions: np.ndarray | None
    embeddings: np.ndarray


class Network:
    """A compiled autoencoder plus a scorer sharing its layers (decoder outputs and embedding at once).

    The autoencoder's outputs, and so its training targets, are the reconstruction, the prediction,
    or both in that order (composite: the loss is the sum of both mean squared errors).
    """

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
        outputs = []
        if spec.variant != "prediction":
            reconstruction = _decoder(embedding, spec, spec.window_length, "", seeds)
            if spec.reverse_target:
                # The decoder emits the window last step first (Srivastava et al. 2015): its first
                # outputs depend on the inputs the encoder saw last, which makes the optimisation easier.
                reconstruction = keras.layers.Lambda(
                    lambda steps: keras.ops.flip(steps, axis=1), name="reverse"
                )(reconstruction)
            outputs.append(reconstruction)
        if spec.variant != "reconstruction":
            # The future is predicted in time order: its first rows follow the encoder's last input.
            outputs.append(_decoder(embedding, spec, spec.horizon, "prediction_", seeds))
        self.autoencoder = keras.Model(
            inputs, outputs[0] if len(outputs) == 1 else outputs, name="lstm_autoencoder"
        )
        losses = "mse" if len(outputs) == 1 else ["mse"] * len(outputs)
        self.autoencoder.compile(optimizer=keras.optimizers.Adam(spec.learning_rate), loss=losses)
        self.scorer = keras.Model(inputs, [*outputs, embedding], name="scorer")
        self.initial_weights = self.autoencoder.get_weights()

    def reset(self, seed: int) -> None:
        """Back to the seeded initial weights and a fresh optimiser state, as if newly built."""
        import keras

        keras.utils.set_random_seed(seed)
        self.autoencoder.set_weights(self.initial_weights)
        for variable in self.autoencoder.optimizer.variables:
            if variable.name != "learning_rate":
                variable.assign(np.zeros(variable.shape, dtype=variable.dtype))

    def predict(self, windows: np.ndarray, batch_size: int = 4096) -> NetworkOutput:
        """The decoders' outputs and the embeddings of scaled ``windows`` (n, window, channels)."""
        return predict_in_batches(self.spec, windows, batch_size, self.scorer.predict_on_batch)


def output_shapes(spec: NetworkSpec) -> list[tuple[int, ...]]:
    """Each window's shapes of the scorer's outputs, in order: the reconstruction (window, channels)
    unless the variant is 'prediction', the prediction (horizon, channels) unless it is
    'reconstruction', then the embedding (units,)."""
    shapes = [(spec.window_length, spec.n_channels)] if spec.variant != "prediction" else []
    if spec.variant != "reconstruction":
        shapes.append((spec.horizon, spec.n_channels))
    return [*shapes, (spec.units,)]


def predict_in_batches(
    spec: NetworkSpec,
    windows: np.ndarray,
    batch_size: int,
    predict_batch: Callable[[np.ndarray], Sequence[Any]],
) -> NetworkOutput:
    """``predict_batch`` (a batch of windows -> the scorer's outputs in ``output_shapes`` order) run
    over ``windows`` in batches of ``batch_size``, gathered into one ``NetworkOutput``: the one way
    both the Keras scorer and the fused kernel (``anomaly.model.fused``) are applied to many windows."""
    batches: list[list[np.ndarray]] = [
        [np.empty((0, *shape), dtype=np.float32)] for shape in output_shapes(spec)
    ]
    for begin in range(0, len(windows), batch_size):
        for collected, output in zip(
            batches, predict_batch(windows[begin : begin + batch_size]), strict=True
        ):
            collected.append(np.asarray(output))
    arrays = [np.concatenate(collected) for collected in batches]
    return NetworkOutput(
        reconstructions=arrays.pop(0) if spec.variant != "prediction" else None,
        predictions=arrays.pop(0) if spec.variant != "reconstruction" else None,
        embeddings=arrays.pop(0),
    )


def _decoder(embedding: object, spec: NetworkSpec, steps: int, prefix: str, seeds: Iterator[int]) -> object:
    """RepeatVector -> LSTM(s) -> TimeDistributed(Dense): ``steps`` rows of ``n_channels`` from the
    embedding. The reconstruction decoder keeps the layer names it always had (``prefix`` empty), so
    its weights files stay as they were."""
    import keras

    hidden = keras.layers.RepeatVector(steps, name=f"{prefix}repeat")(embedding)
    for level in range(spec.depth):
        hidden = keras.layers.LSTM(
            spec.units,
            activation=spec.activation,
            return_sequences=True,
            name=f"{prefix}decoder_{level}",
            **_lstm_initializers(seeds),
        )(hidden)
    output = keras.layers.Dense(
        spec.n_channels, kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds))
    )
    return keras.layers.TimeDistributed(output, name=f"{prefix}output")(hidden)


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


def weighted_layers(spec: NetworkSpec) -> list[str]:
    """The names of ``spec``'s layers that hold weights, in the model's order: the order of
    ``get_weights()`` and of the layers in a Keras weights file (``anomaly.model.weights_file``)."""
    return [layer.name for layer in network_for(spec).autoencoder.layers if layer.weights]
