"""Training many streams' autoencoders at once: one stacked network, one gradient step for all.

Kept for the benchmark (``perf.many``) rather than the product: on 2-core machines training is
compute-bound and stacking streams saves nothing (see docs/performance.md), and it covers the
reconstruction variant only; a many-core machine may change that.

A detector fit on one stream of a few thousand rows is dominated by per-step overhead: each batch
of 64 small windows launches hundreds of tiny kernels. Streams that share an architecture can
instead be trained side by side: every weight gets a leading stream axis (K, ...), each time step
is one batched matmul over all K streams, and the loss is the sum of the streams' own mean losses,
so the gradient of a stream's slice is exactly its own gradient. Adam is applied per slice with a
per-stream step count, which makes every slice follow the same update rule as its own
``keras.Model.fit`` would: same seeded initial weights (``Network.initial_weights``), same batch
size, same partial last batch, its own early stopping on its own chronological validation windows
(best weights kept, stopped after ``patience`` epochs without improvement). Only the order of the
shuffled batches differs from a sequential fit.

A stream that has stopped early is masked out of every later step (weights and Adam state left as
they are), and once at most half of the stacked streams are still training the stack is cut down to
those, so stopped streams soon cost nothing. The stacked weights and Adam moments are plain tensors
passed through a traced step kept per architecture: it is traced once per stack size (at most about
log2(K) sizes per fleet, and reused by later fleets), never per call, and an epoch's batch indices go
to the device once, not once per step. The stream axis is not left unknown to avoid those traces:
oneDNN's kernels for shapes known only at run time are not bit-reproducible, and fleets must be.

``train_fleet`` works on scaled windows and returns, per stream, weights in the order and shapes of
``Network.autoencoder.get_weights()``; ``fit_detectors`` prepares and completes each detector with
``LSTMAutoencoderDetector.prepare`` and ``complete``, the steps its own ``fit`` runs around its trainer.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple

import numpy as np

from anomaly.config import PipelineConfig
from anomaly.data.types import PreparedStream
from anomaly.detectors.lstm_autoencoder import LSTMAutoencoderDetector
from anomaly.errors import DataError, ModelError
from anomaly.model.adam import adam_rate, adam_update
from anomaly.model.fit_result import FitResult
from anomaly.model.network import NetworkSpec, network_for
from anomaly.model.stopping import BranchEarlyStopping

VALIDATION_CHUNK = 1024


def fit_detectors(streams: Sequence[PreparedStream], config: PipelineConfig) -> list[LSTMAutoencoderDetector]:
    """One fitted detector per stream, trained together; the streams must have the same channels.

    Each detector ends as ``LSTMAutoencoderDetector.from_config(config).fit(stream)`` would leave it
    (scaler, weights, threshold, reference errors, embedding space), apart from the shuffling order.
    """
    if not streams:
        return []
    if config.model.variant != "reconstruction":
        raise ModelError(
            "training streams together supports the reconstruction variant; fit "
            f"{config.model.variant!r} models one stream at a time"
        )
    if any(stream.channels != streams[0].channels for stream in streams):
        raise DataError("streams trained together must have the same channels")
    detectors = [LSTMAutoencoderDetector.from_config(config) for _ in streams]
    prepared = [detector.prepare(stream) for detector, stream in zip(detectors, streams, strict=True)]
    fits = train_fleet(
        [training.train_windows for training in prepared],
        [training.validation_windows for training in prepared],
        detectors[0].network_spec(len(streams[0].channels)),
        epochs=config.model.epochs,
        batch_size=config.model.batch_size,
        patience=config.model.patience,
    )
    return [
        detector.complete(stream, training, fit)
        for detector, stream, training, fit in zip(detectors, streams, prepared, fits, strict=True)
    ]


def train_fleet(
    train_windows: Sequence[np.ndarray],
    validation_windows: Sequence[np.ndarray],
    spec: NetworkSpec,
    *,
    epochs: int,
    batch_size: int,
    patience: int,
) -> list[FitResult]:
    """Train one autoencoder of architecture ``spec`` per stream, all at once.

    ``train_windows[k]`` and ``validation_windows[k]`` (n_k, window, channels) are stream k's scaled
    windows; training windows are reshuffled every epoch in an order fixed by ``spec.seed`` and k,
    validation windows are used in time order. Deterministic for the same inputs.
    """
    import tensorflow as tf

    n_branches = len(train_windows)
    if n_branches == 0 or len(validation_windows) != n_branches:
        raise ValueError("give the training and validation windows of at least one stream, one set each")
    if any(len(windows) == 0 for windows in (*train_windows, *validation_windows)):
        raise DataError("every stream needs at least one training and one validation window")
    if spec.variant != "reconstruction":
        raise ModelError("training streams together supports the reconstruction variant only")
    trainer = _trainer_for(spec)
    state = trainer.initial_state(n_branches)
    train, train_counts = _stack(train_windows)
    validation, validation_counts = _stack(validation_windows)
    train_data, validation_data = tf.constant(train), tf.constant(validation)
    rngs = [np.random.default_rng((spec.seed, branch)) for branch in range(n_branches)]
    stacked = np.arange(n_branches)  # the streams in the stack, in stack order
    validation_chunks = _chunks(validation_counts)
    stopping = BranchEarlyStopping(n_branches, patience)
    for epoch in range(epochs):
        running = stopping.active[stacked]
        counts = np.where(running, train_counts[stacked], 0)
        index, mask = _epoch_batches([rngs[branch] for branch in stacked], counts, batch_size)
        for batch in range(index.shape[1]):
            state = trainer.train_step(state, train_data, index[:, batch], mask[:, batch])
        squared = sum(
            trainer.squared_errors(state.weights, validation_data, chunk_index, chunk_mask).numpy()
            for chunk_index, chunk_mask in validation_chunks
        )
        val_losses = squared / validation_counts[stacked]
        weights = [w.numpy()[running] for w in state.weights]
        stopping.update(epoch, stacked[running], val_losses[running], weights)
        still = np.flatnonzero(stopping.active[stacked])
        if len(still) == 0:
            break
        if len(still) <= len(stacked) // 2:
            stacked = stacked[still]
            state = state.select(still)
            train_data, validation_data = tf.gather(train_data, still), tf.gather(validation_data, still)
            validation_chunks = _chunks(validation_counts[stacked])
    return [
        FitResult(
            weights=[stacked[branch] for stacked in stopping.best_weights],
            val_loss=float(stopping.best[branch]),
            epochs_trained=int(stopping.epochs[branch]),
        )
        for branch in range(n_branches)
    ]


def _stack(windows: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Streams' windows zero-padded to one array (K, n_max, window, channels), and their counts (K,)."""
    counts = np.array([len(w) for w in windows])
    stacked = np.zeros((len(windows), counts.max(), *windows[0].shape[1:]), dtype=np.float32)
    for branch, w in enumerate(windows):
        stacked[branch, : len(w)] = w
    return stacked, counts


def _epoch_batches(
    rngs: Sequence[np.random.Generator], counts: np.ndarray, batch_size: int
) -> tuple[Any, Any]:
    """One epoch's shuffled batches of ``counts`` (K,) windows as tensors: window indices
    (K, n_batches, batch) int32 and a mask (K, n_batches, batch) float32, 0 past a stream's last window
    (its partial last batch, then none; a stopped stream is given 0 windows)."""
    import tensorflow as tf

    n_batches = -(-int(counts.max()) // batch_size)
    order = np.zeros((len(counts), n_batches * batch_size), dtype=np.int32)
    for branch, rng in enumerate(rngs):
        order[branch, : counts[branch]] = rng.permutation(counts[branch])
    mask = np.arange(n_batches * batch_size)[None, :] < counts[:, None]
    shape = (len(counts), n_batches, batch_size)
    return tf.constant(order.reshape(shape)), tf.constant(mask.reshape(shape), dtype=tf.float32)


def _chunks(counts: np.ndarray) -> list[tuple[Any, Any]]:
    """Validation windows in time order, in chunks of up to ``VALIDATION_CHUNK``: (index, mask) pairs
    of shape (K, chunk), the index clipped to 0 and the mask 0 past a stream's last window."""
    import tensorflow as tf

    chunk = min(VALIDATION_CHUNK, int(counts.max()))
    chunks = []
    for begin in range(0, int(counts.max()), chunk):
        positions = np.arange(begin, begin + chunk)
        mask = positions[None, :] < counts[:, None]
        index = np.where(mask, positions[None, :], 0).astype(np.int32)
        chunks.append((tf.constant(index), tf.constant(mask, dtype=tf.float32)))
    return chunks


class _TrainingState(NamedTuple):
    """The stacked weights and Adam moments (each (K, ...), in ``get_weights()`` order) and the Adam
    step count (K,) of the streams still training."""

    weights: list[Any]
    first_moments: list[Any]
    second_moments: list[Any]
    steps: Any

    def select(self, branches: np.ndarray) -> _TrainingState:
        """The state of the streams at ``branches`` of the stack only."""
        import tensorflow as tf

        def pick(tensors: list[Any]) -> list[Any]:
            return [tf.gather(tensor, branches) for tensor in tensors]

        return _TrainingState(
            pick(self.weights),
            pick(self.first_moments),
            pick(self.second_moments),
            tf.gather(self.steps, branches),
        )


@cache
def _trainer_for(spec: NetworkSpec) -> _StackedAutoencoder:
    """The stacked trainer for ``spec``, traced on first use and shared by every later fleet."""
    return _StackedAutoencoder(spec, network_for(spec).initial_weights)


class _StackedAutoencoder:
    """K copies of ``Network``'s autoencoder with their weights stacked on a leading axis.

    Per LSTM layer: kernel (K, inputs, 4 units), recurrent kernel (K, units, 4 units), bias
    (K, 4 units), gates in Keras's order (input, forget, cell, output); then the dense output layer.
    The decoder's input is the same embedding at every step, so its input projection is computed
    once per window instead of once per step.
    """

    def __init__(self, spec: NetworkSpec, initial_weights: list[np.ndarray]) -> None:
        import tensorflow as tf

        self.spec = spec
        self.initial_weights = [w.astype(np.float32) for w in initial_weights]
        self.activation = tf.nn.relu if spec.activation == "relu" else tf.tanh
        self.train_step = tf.function(self._train_step)
        self.squared_errors = tf.function(self._squared_errors)

    def initial_state(self, n_branches: int) -> _TrainingState:
        """Every stream at the network's seeded initial weights, with fresh Adam moments."""
        import tensorflow as tf

        weights = [tf.constant(np.repeat(w[None], n_branches, axis=0)) for w in self.initial_weights]
        zeros = [tf.zeros_like(w) for w in weights]
        return _TrainingState(weights, zeros, list(zeros), tf.zeros(n_branches))

    def _lstm(self, inputs, kernel, recurrent, bias, *, repeated: bool, sequences: bool):
        """Run one stacked LSTM layer over (K, B, T, inputs), or over an input repeated T times."""
        import tensorflow as tf

        steps = self.spec.window_length
        if repeated:
            projected = [tf.einsum("kbi,kio->kbo", inputs, kernel) + bias[:, None, :]] * steps
        else:
            all_steps = tf.einsum("kbti,kio->kbto", inputs, kernel) + bias[:, None, None, :]
            projected = tf.unstack(all_steps, num=steps, axis=2)
        hidden = tf.zeros_like(projected[0][..., : self.spec.units])
        cell = hidden
        outputs = []
        for step in range(steps):
            gates = projected[step] + tf.matmul(hidden, recurrent)
            i, f, c, o = tf.split(gates, 4, axis=-1)
            cell = tf.sigmoid(f) * cell + tf.sigmoid(i) * self.activation(c)
            hidden = tf.sigmoid(o) * self.activation(cell)
            outputs.append(hidden)
        return tf.stack(outputs, axis=2) if sequences else hidden

    def _reconstruct(self, weights, windows):
        """Reconstructions (K, B, T, channels) of windows (K, B, T, channels)."""
        import tensorflow as tf

        depth = self.spec.depth
        layers = [weights[3 * level : 3 * level + 3] for level in range(2 * depth)]
        hidden = windows
        for level in range(depth):
            hidden = self._lstm(hidden, *layers[level], repeated=False, sequences=level < depth - 1)
        for level in range(depth):
            hidden = self._lstm(hidden, *layers[depth + level], repeated=level == 0, sequences=True)
        kernel, bias = weights[-2:]
        output = tf.einsum("kbtu,kuc->kbtc", hidden, kernel) + bias[:, None, None, :]
        return tf.reverse(output, axis=[2]) if self.spec.reverse_target else output

    def _window_errors(self, weights, data, index, mask):
        """Mean squared error (K, B) of the windows of ``data`` (K, n, T, C) at ``index`` (K, B), masked."""
        import tensorflow as tf

        windows = tf.gather(data, index, batch_dims=1)
        errors = tf.reduce_mean(tf.square(self._reconstruct(weights, windows) - windows), axis=[2, 3])
        return errors * mask

    def _squared_errors(self, weights, data, index, mask):
        """Sum over the masked windows of each stream's window errors (K,)."""
        import tensorflow as tf

        return tf.reduce_sum(self._window_errors(weights, data, index, mask), axis=1)

    def _train_step(self, state: _TrainingState, data, index, mask) -> _TrainingState:
        """One Adam step per stream on the mean error of its masked batch; a stream whose batch is
        empty (all its windows seen this epoch, or stopped) keeps its weights, moments and step count."""
        import tensorflow as tf

        counts = tf.reduce_sum(mask, axis=1)
        with tf.GradientTape() as tape:
            tape.watch(state.weights)
            errors = tf.reduce_sum(self._window_errors(state.weights, data, index, mask), axis=1)
            loss = tf.reduce_sum(errors / tf.maximum(counts, 1.0))
        gradients = tape.gradient(loss, state.weights)
        active = tf.cast(counts > 0, tf.float32)
        steps = state.steps + active
        rate = adam_rate(self.spec.learning_rate, tf.maximum(steps, 1.0))
        weights, first_moments, second_moments = [], [], []
        for weight, gradient, m, v in zip(
            state.weights, gradients, state.first_moments, state.second_moments, strict=True
        ):
            shape = (-1,) + (1,) * (len(weight.shape) - 1)
            weight, m, v = adam_update(
                weight, gradient, m, v, tf.reshape(rate, shape), tf.reshape(active, shape)
            )
            weights.append(weight)
            first_moments.append(m)
            second_moments.append(v)
        return _TrainingState(weights, first_moments, second_moments, steps)
