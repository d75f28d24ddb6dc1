"""The fused LSTM kernel path computes what the Keras network computes, and trains as Keras fit does."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly.model.fused import fused_for, fused_supported
from anomaly.model.network import network_for
from tests.model.networks import VARIANTS, random_weights, random_windows, small_spec


@pytest.mark.parametrize("depth", [1, 2])
@pytest.mark.parametrize("variant", VARIANTS)
def test_fused_outputs_equal_the_keras_scorer(variant, depth):
    spec = small_spec(variant, depth=depth)
    weights = random_weights(spec)
    windows = random_windows(37, spec)
    network = network_for(spec)
    network.autoencoder.set_weights(weights)
    keras_output = network.predict(windows)
    fused_output = fused_for(spec).predict(weights, windows)
    for name in ("reconstructions", "predictions", "embeddings"):
        expected, got = getattr(keras_output, name), getattr(fused_output, name)
        assert (expected is None) == (got is None), name
        if expected is not None:
            np.testing.assert_allclose(got, expected, atol=2e-5, err_msg=name)


@pytest.mark.parametrize("variant", VARIANTS)
def test_fused_gradients_equal_keras_gradients(variant):
    """The kernel's own gradient op, not a re-derivation: this is what caught V2's gate-order bug."""
    import tensorflow as tf

    spec = small_spec(variant)
    weights = random_weights(spec)
    windows = random_windows(16, spec)
    fused = fused_for(spec)
    network = network_for(spec)
    network.autoencoder.set_weights(weights)

    def keras_outputs():
        outputs = network.autoencoder(windows)
        return list(outputs) if isinstance(outputs, list | tuple) else [outputs]

    targets = [tf.constant(np.asarray(o) + 0.3) for o in keras_outputs()]  # a loss with real gradients
    with tf.GradientTape() as tape:
        outputs = keras_outputs()
        losses = [tf.reduce_mean(tf.square(o - t)) for o, t in zip(outputs, targets, strict=True)]
        keras_loss = tf.add_n(losses)
    keras_gradients = tape.gradient(keras_loss, network.autoencoder.trainable_weights)

    tensors = [tf.constant(w) for w in weights]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        fused_loss = tf.reduce_mean(fused._window_losses(tensors, tf.constant(windows), tuple(targets)))
    fused_gradients = tape.gradient(fused_loss, tensors)

    np.testing.assert_allclose(float(fused_loss), float(keras_loss), rtol=1e-5)
    for got, expected in zip(fused_gradients, keras_gradients, strict=True):
        np.testing.assert_allclose(got.numpy(), np.asarray(expected), atol=1e-5)


def test_fused_training_is_deterministic_and_learns():
    spec = small_spec("reconstruction", channels=1)
    phase = np.arange(400) / 6.0
    series = np.sin(phase)[:, None].astype(np.float32)
    windows = np.stack([series[s : s + 12] for s in range(0, 380)])
    train, validation = windows[:300:3], windows[300:]
    fits = [
        fused_for(spec).fit(
            train, (train,), validation, (validation,), epochs=6, batch_size=16, patience=2, seed=3
        )
        for _ in range(2)
    ]
    for first, second in zip(fits[0].weights, fits[1].weights, strict=True):
        np.testing.assert_array_equal(first, second)
    assert fits[0].val_loss == fits[1].val_loss
    initial = fused_for(spec)
    untrained = initial.predict(initial.initial_weights, validation).reconstructions
    trained = initial.predict(fits[0].weights, validation).reconstructions
    assert ((trained - validation) ** 2).mean() < ((untrained - validation) ** 2).mean()
    assert ((trained - validation) ** 2).mean() == pytest.approx(fits[0].val_loss, rel=1e-4)


def test_a_partial_last_batch_is_padded_not_retraced():
    spec = small_spec("prediction")
    fused = fused_for(spec)
    horizon_targets = random_windows(200, spec)[:, : spec.horizon]
    for n_windows in (41, 53):
        windows = random_windows(n_windows, spec)
        fused.fit(
            windows,
            (horizon_targets[:n_windows],),
            windows[:9],
            (horizon_targets[:9],),
            epochs=1,
            batch_size=16,
            patience=1,
            seed=0,
        )
    assert fused._train_steps[16].experimental_get_tracing_count() == 1


def test_relu_networks_are_left_to_keras():
    assert not fused_supported(small_spec("reconstruction", activation="relu"))
    with pytest.raises(ValueError, match="tanh"):
        fused_for(small_spec("reconstruction", activation="relu"))
