"""The autoencoder's forward pass in NumPy: scoring and embedding without TensorFlow.

Training needs TensorFlow (gradients, the fused kernel); scoring a stream's few new windows does not.
Importing TensorFlow and Keras costs a scheduled run some four seconds before it scores anything, and
each Keras or traced call a fixed overhead per stream, which for a fleet of streams with a few new
rows each is most of the run (docs/performance.md). The forward pass of these small networks is a
handful of matrix products per time step, so NumPy computes it at least as fast, and every scoring
path (the cold run's, a scheduled run's, the evaluation's) goes through this one function, so a
window's error does not depend on which run computed it.

The maths is ``keras.layers.LSTM``'s: gates in Keras's order (input, forget, cell, output), sigmoid
recurrent activation, the cell activation the network was built with (tanh or relu); then
RepeatVector, decoder LSTMs and a time-distributed Dense, as ``anomaly.model.network`` builds them.
Everything is computed in float32, as TensorFlow does.
"""

from __future__ import annotations

import numpy as np

from anomaly.model.network import NetworkOutput, NetworkSpec

LayerWeights = dict[str, list[np.ndarray]]
"""A network's weights by layer name: an LSTM's [kernel, recurrent kernel, bias], a Dense's [kernel, bias]."""

BATCH = 4096
"""Windows per batch: bounds the memory of the per-step gate arrays on long streams."""


def forward(spec: NetworkSpec, layers: LayerWeights, windows: np.ndarray) -> NetworkOutput:
    """The decoders' outputs and the embeddings of scaled ``windows`` (n, window, channels)."""
    windows = np.asarray(windows, dtype=np.float32)
    parts = [
        _forward_batch(spec, layers, windows[begin : begin + BATCH])
        for begin in range(0, max(len(windows), 1), BATCH)  # no windows still give empty outputs
    ]
    reconstructions, predictions, embeddings = (
        None if parts[0][place] is None else np.concatenate([part[place] for part in parts])
        for place in range(3)
    )
    return NetworkOutput(reconstructions=reconstructions, predictions=predictions, embeddings=embeddings)


def _forward_batch(
    spec: NetworkSpec, layers: LayerWeights, windows: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    hidden = windows
    for level in range(spec.depth):
        hidden = _lstm(hidden, layers[f"encoder_{level}"], spec.activation, sequences=level < spec.depth - 1)
    embedding = hidden
    reconstruction = prediction = None
    if spec.variant != "prediction":
        reconstruction = _decode(embedding, layers, spec, spec.window_length, "")
        if spec.reverse_target:
            reconstruction = reconstruction[:, ::-1]
    if spec.variant != "reconstruction":
        prediction = _decode(embedding, layers, spec, spec.horizon, "prediction_")
    return reconstruction, prediction, embedding


def _decode(
    embedding: np.ndarray, layers: LayerWeights, spec: NetworkSpec, steps: int, prefix: str
) -> np.ndarray:
    """RepeatVector -> decoder LSTMs -> Dense over every step: (n, steps, channels)."""
    hidden = np.repeat(embedding[:, None, :], steps, axis=1)
    for level in range(spec.depth):
        hidden = _lstm(hidden, layers[f"{prefix}decoder_{level}"], spec.activation, sequences=True)
    kernel, bias = layers[f"{prefix}output"]
    return hidden @ kernel + bias


def _lstm(inputs: np.ndarray, weights: list[np.ndarray], activation: str, *, sequences: bool) -> np.ndarray:
    """One LSTM layer over (n, steps, features): every step's hidden state, or only the last one."""
    kernel, recurrent, bias = weights
    cell_activation = np.tanh if activation == "tanh" else _relu
    n, steps, _ = inputs.shape
    units = recurrent.shape[0]
    projected = inputs @ kernel + bias  # the input's share of every step's gates at once
    state = np.zeros((n, units), dtype=np.float32)
    cell = np.zeros((n, units), dtype=np.float32)
    outputs = np.empty((n, steps, units), dtype=np.float32) if sequences else None
    for step in range(steps):
        gates = projected[:, step] + state @ recurrent
        input_gate = _sigmoid(gates[:, :units])
        forget_gate = _sigmoid(gates[:, units : 2 * units])
        candidate = cell_activation(gates[:, 2 * units : 3 * units])
        output_gate = _sigmoid(gates[:, 3 * units :])
        cell = forget_gate * cell + input_gate * candidate
        state = output_gate * cell_activation(cell)
        if outputs is not None:
            outputs[:, step] = state
    return state if outputs is None else outputs


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-values))).astype(np.float32, copy=False)


def _relu(values: np.ndarray) -> np.ndarray:
    return np.maximum(values, 0.0)
