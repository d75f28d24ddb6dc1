"""The autoencoder's forward pass and single-stream training through TensorFlow's fused LSTM kernel.

Keras's LSTM on a CPU runs its cell as a loop of small ops, one round per time step, forward and
backward. TensorFlow's ``BlockLSTM`` op runs a whole layer over a whole sequence in one kernel, and
its gradient op the whole backward pass in another (docs/performance.md has the measured gains).
Its maths is ``keras.layers.LSTM``'s with the tanh activation once the gates are reordered from
Keras's (input, forget, cell, output) to the op's (input, cell, forget, output), with a forget bias
of 0, no cell clipping and no peepholes. Weights therefore pass unchanged between the two, and the
Keras model (``anomaly.model.network``) stays the one format weights are saved and loaded in; a
'relu' network, which the op cannot compute, trains and scores through Keras.

The op's V2, which takes Keras's gate order, is not used: TensorFlow (2.21) registers V1's gradient
for it, which assumes V1's gate order, so its gradients are wrong.

The compiled functions take the weights and the data as arguments and are traced once per
architecture (and training batch size), never per stream; a stream's partial last batch is padded
to the batch size and masked out of the loss, so it needs no trace of its own.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import numpy as np

from anomaly.model.adam import adam_rate, adam_update
from anomaly.model.fit_result import FitResult
from anomaly.model.network import NetworkOutput, NetworkSpec, network_for, output_shapes, predict_in_batches
from anomaly.model.stopping import BranchEarlyStopping

PREDICT_BATCH = 4096


def fused_supported(spec: NetworkSpec) -> bool:
    """Whether the fused kernel computes ``spec``'s network: its cell activation is fixed to tanh."""
    return spec.activation == "tanh"


@cache
def fused_for(spec: NetworkSpec) -> FusedAutoencoder:
    """The fused autoencoder for ``spec``, traced on first use and shared by every later stream."""
    return FusedAutoencoder(spec)


class FusedAutoencoder:
    """``Network(spec)``'s autoencoder and scorer as BlockLSTM ops on weights passed in.

    Weights are lists in ``Network.autoencoder.get_weights()`` order; which entries belong to which
    layer is read off the Keras model by layer name, so the two can never disagree.
    """

    def __init__(self, spec: NetworkSpec) -> None:
        import tensorflow as tf

        if not fused_supported(spec):
            raise ValueError(f"the fused LSTM kernel computes tanh cells only, not {spec.activation!r}")
        self.spec = spec
        network = network_for(spec)
        self.initial_weights = [w.astype(np.float32) for w in network.initial_weights]
        self._layers: dict[str, slice] = {}
        position = 0
        for layer in network.autoencoder.layers:
            if layer.weights:
                self._layers[layer.name] = slice(position, position + len(layer.weights))
                position += len(layer.weights)
        self._weight_specs = [tf.TensorSpec(w.shape, tf.float32) for w in self.initial_weights]
        self._window_spec = tf.TensorSpec([None, spec.window_length, spec.n_channels], tf.float32)
        self._target_specs = tuple(
            tf.TensorSpec([None, *shape], tf.float32) for shape in output_shapes(spec)[:-1]
        )
        # The training state lives in variables that the traced step updates in place: a call then
        # passes only the batch, not some thirty weight and moment tensors (whose binding cost more
        # than the step on small batches). ``fit`` resets them for each stream, under ``_training``.
        self._weights = [tf.Variable(w) for w in self.initial_weights]
        self._first_moments = [tf.Variable(tf.zeros_like(w)) for w in self.initial_weights]
        self._second_moments = [tf.Variable(tf.zeros_like(w)) for w in self.initial_weights]
        self._steps = tf.Variable(0.0)
        self._training = threading.Lock()
        self._outputs = tf.function(
            self._network_outputs,
            input_signature=[self._weight_specs, self._window_spec],
            autograph=False,
        )
        self._validation_sum = tf.function(
            self._training_loss_sum,
            input_signature=[self._window_spec, self._target_specs],
            autograph=False,
        )
        self._train_steps: dict[int, Any] = {}

    # -- public ------------------------------------------------------------------------------------
    def predict(self, weights: list[np.ndarray], windows: np.ndarray) -> NetworkOutput:
        """The decoders' outputs and the embeddings of scaled ``windows`` (n, window, channels)."""
        tensors = _tensors(weights)
        return predict_in_batches(
            self.spec,
            np.asarray(windows, dtype=np.float32),
            PREDICT_BATCH,
            lambda batch: self._outputs(tensors, batch),
        )

    def fit(
        self,
        train_windows: np.ndarray,
        train_targets: tuple[np.ndarray, ...],
        validation_windows: np.ndarray,
        validation_targets: tuple[np.ndarray, ...],
        *,
        epochs: int,
        batch_size: int,
        patience: int,
        seed: int,
    ) -> FitResult:
        """Adam from the network's seeded initial weights, as ``keras.Model.fit`` with
        ``EarlyStopping(patience, restore_best_weights=True)`` trains it.

        ``train_targets`` and ``validation_targets`` hold one array per decoder output (the
        reconstruction's, then the prediction's). Training windows are reshuffled every epoch in an
        order fixed by ``seed`` alone, so a stream's result never depends on what the process trained
        before it; validation windows are scored in time order after each epoch.
        """
        import tensorflow as tf

        data = tf.constant(np.asarray(train_windows, dtype=np.float32))
        targets = tuple(tf.constant(np.asarray(t, dtype=np.float32)) for t in train_targets)
        rng = np.random.default_rng(seed)
        stopping = BranchEarlyStopping(1, patience)
        train_step = self._train_step_for(batch_size)
        with self._training:
            self._reset()
            for epoch in range(epochs):
                index, mask = _epoch_batches(rng, len(train_windows), batch_size)
                for batch_index, batch_mask in zip(index, mask, strict=True):
                    train_step(data, targets, batch_index, batch_mask)
                val_loss = self._validation_loss(validation_windows, validation_targets)
                weights = [w.numpy()[None] for w in self._weights]
                stopping.update(epoch, np.array([0]), np.array([val_loss]), weights)
                if not stopping.active[0]:
                    break
        return FitResult(
            weights=[best[0] for best in stopping.best_weights],
            val_loss=float(stopping.best[0]),
            epochs_trained=int(stopping.epochs[0]),
        )

    # -- traced ------------------------------------------------------------------------------------
    def _network_outputs(self, weights: list[Any], windows: Any) -> tuple[Any, ...]:
        """(reconstruction, prediction, embedding) for (n, window, channels) windows, each decoder
        output only where the variant has it, as ``Network.scorer`` gives them."""
        import tensorflow as tf

        spec = self.spec
        hidden = tf.transpose(windows, [1, 0, 2])
        for level in range(spec.depth):
            hidden = _block_lstm(hidden, *self._weights_of(weights, f"encoder_{level}"))
        embedding = hidden[-1]
        outputs = []
        if spec.variant != "prediction":
            reconstruction = self._decode(weights, embedding, spec.window_length, "")
            outputs.append(tf.reverse(reconstruction, axis=[1]) if spec.reverse_target else reconstruction)
        if spec.variant != "reconstruction":
            outputs.append(self._decode(weights, embedding, spec.horizon, "prediction_"))
        return (*outputs, embedding)

    def _decode(self, weights: list[Any], embedding: Any, steps: int, prefix: str) -> Any:
        """RepeatVector -> LSTM(s) -> TimeDistributed(Dense): (n, steps, channels)."""
        import tensorflow as tf

        hidden = tf.tile(embedding[None], [steps, 1, 1])
        for level in range(self.spec.depth):
            hidden = _block_lstm(hidden, *self._weights_of(weights, f"{prefix}decoder_{level}"))
        kernel, bias = self._weights_of(weights, f"{prefix}output")
        return tf.einsum("tnu,uc->ntc", hidden, kernel) + bias

    def _window_losses(self, weights: list[Any], windows: Any, targets: tuple[Any, ...]) -> Any:
        """Each window's loss (n,): its mean squared error, summed over the decoders."""
        import tensorflow as tf

        outputs = self._network_outputs(weights, windows)[:-1]
        return tf.add_n(
            [
                tf.reduce_mean(tf.square(output - target), axis=[1, 2])
                for output, target in zip(outputs, targets, strict=True)
            ]
        )

    def _training_loss_sum(self, windows: Any, targets: tuple[Any, ...]) -> Any:
        """The sum of the window losses under the weights being trained."""
        import tensorflow as tf

        return tf.reduce_sum(self._window_losses(self._weights, windows, targets))

    def _step(self, data: Any, targets: tuple[Any, ...], index: Any, mask: Any) -> None:
        """One Adam step on the mean loss of the windows of ``data`` at ``index``, ``mask`` 0 on
        padding (Keras's mean over a partial batch)."""
        import tensorflow as tf

        with tf.GradientTape() as tape:
            batch = [tf.gather(part, index) for part in (data, *targets)]
            losses = self._window_losses(self._weights, batch[0], tuple(batch[1:]))
            loss = tf.reduce_sum(losses * mask) / tf.reduce_sum(mask)
        gradients = tape.gradient(loss, self._weights)
        self._steps.assign_add(1.0)
        rate = adam_rate(self.spec.learning_rate, self._steps)
        for weight, gradient, first, second in zip(
            self._weights, gradients, self._first_moments, self._second_moments, strict=True
        ):
            new_weight, new_first, new_second = adam_update(weight, gradient, first, second, rate)
            weight.assign(new_weight)
            first.assign(new_first)
            second.assign(new_second)

    # -- helpers -----------------------------------------------------------------------------------
    def _train_step_for(self, batch_size: int) -> Any:
        """The traced ``_step`` for batches of ``batch_size``: every shape but the stream's window
        count is fixed, so the matmul kernels chosen are the same for every stream."""
        import tensorflow as tf

        if batch_size not in self._train_steps:
            self._train_steps[batch_size] = tf.function(
                self._step,
                input_signature=[
                    self._window_spec,
                    self._target_specs,
                    tf.TensorSpec([batch_size], tf.int32),
                    tf.TensorSpec([batch_size], tf.float32),
                ],
                autograph=False,
            )
        return self._train_steps[batch_size]

    def _reset(self) -> None:
        """The training state back to the seeded initial weights and fresh Adam moments."""
        for weight, initial in zip(self._weights, self.initial_weights, strict=True):
            weight.assign(initial)
        for moment in (*self._first_moments, *self._second_moments):
            moment.assign(np.zeros(moment.shape, dtype=np.float32))
        self._steps.assign(0.0)

    def _validation_loss(self, windows: np.ndarray, targets: tuple[np.ndarray, ...]) -> float:
        """Mean loss of the validation ``windows`` under the weights being trained, in chunks."""
        total = 0.0
        for begin in range(0, len(windows), PREDICT_BATCH):
            chunk = slice(begin, begin + PREDICT_BATCH)
            total += float(
                self._validation_sum(
                    np.asarray(windows[chunk], dtype=np.float32),
                    tuple(np.asarray(t[chunk], dtype=np.float32) for t in targets),
                )
            )
        return total / len(windows)

    def _weights_of(self, weights: list[Any], layer: str) -> list[Any]:
        return weights[self._layers[layer]]


def _block_lstm(sequence: Any, kernel: Any, recurrent: Any, bias: Any) -> Any:
    """Hidden states (steps, n, units) of a Keras tanh LSTM layer over ``sequence`` (steps, n,
    inputs), time major, from zero state; ``kernel``, ``recurrent`` and ``bias`` as Keras keeps them."""
    import tensorflow as tf

    units = recurrent.shape[0]
    zeros = tf.zeros(tf.stack([tf.shape(sequence)[1], units]))
    no_peephole = tf.zeros([units])
    return tf.raw_ops.BlockLSTM(
        seq_len_max=tf.cast(tf.shape(sequence)[0], tf.int64),
        x=sequence,
        cs_prev=zeros,
        h_prev=zeros,
        w=_op_gate_order(tf.concat([kernel, recurrent], axis=0)),
        wci=no_peephole,
        wcf=no_peephole,
        wco=no_peephole,
        b=_op_gate_order(bias),
        forget_bias=0.0,
        cell_clip=-1.0,
        use_peephole=False,
    )[6]


def _op_gate_order(gates: Any) -> Any:
    """Keras's gate blocks (input, forget, cell, output) on the last axis as BlockLSTM's (input,
    cell, forget, output); split and concatenated, so that the gradient stays dense."""
    import tensorflow as tf

    input_gate, forget_gate, cell_gate, output_gate = tf.split(gates, 4, axis=-1)
    return tf.concat([input_gate, cell_gate, forget_gate, output_gate], axis=-1)


def _tensors(weights: list[np.ndarray]) -> list[Any]:
    import tensorflow as tf

    return [tf.constant(np.asarray(w, dtype=np.float32)) for w in weights]


def _epoch_batches(rng: np.random.Generator, n_windows: int, batch_size: int) -> tuple[Any, Any]:
    """One epoch's shuffled batches: window indices (n_batches, batch) int32 and a mask (n_batches,
    batch) float32, 0 on the padding of the partial last batch, as lists of per-batch tensors."""
    import tensorflow as tf

    n_batches = -(-n_windows // batch_size)
    order = np.zeros(n_batches * batch_size, dtype=np.int32)
    order[:n_windows] = rng.permutation(n_windows)
    mask = (np.arange(n_batches * batch_size) < n_windows).astype(np.float32)
    shape = (n_batches, batch_size)
    return tf.unstack(tf.constant(order.reshape(shape))), tf.unstack(tf.constant(mask.reshape(shape)))
