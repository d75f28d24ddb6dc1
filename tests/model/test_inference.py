"""The NumPy forward pass computes what the Keras network computes, and the weights file reads back
by layer without TensorFlow, for every variant, activation and depth."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from anomaly.model.inference import forward
from anomaly.model.network import network_for, weighted_layers
from anomaly.model.weights_file import layer_weights, read_layer_weights
from tests.model.networks import VARIANTS, random_weights, random_windows, small_spec

SPECS = [
    small_spec(variant, depth=depth, activation=activation)
    for variant, activation, depth in itertools.product(VARIANTS, ["tanh", "relu"], [1, 2])
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.variant}-{s.activation}-depth{s.depth}")
def test_forward_matches_keras(spec):
    weights = random_weights(spec)
    network = network_for(spec)
    network.autoencoder.set_weights(weights)
    windows = random_windows(130, spec)

    keras_output = network.predict(windows)
    numpy_output = forward(spec, layer_weights(weighted_layers(spec), weights), windows)

    for field in ("reconstructions", "predictions", "embeddings"):
        expected, actual = getattr(keras_output, field), getattr(numpy_output, field)
        if expected is None:
            assert actual is None
        else:
            assert actual.dtype == np.float32
            np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)  # float32 rounding


@pytest.mark.parametrize("spec", SPECS[::2], ids=lambda s: f"{s.variant}-depth{s.depth}")
def test_weights_file_reads_back_by_layer(spec, tmp_path):
    weights = random_weights(spec)
    network = network_for(spec)
    network.autoencoder.set_weights(weights)
    path = tmp_path / "w.weights.h5"
    network.autoencoder.save_weights(path)

    layout = weighted_layers(spec)
    from_file = read_layer_weights(path, layout)
    from_memory = layer_weights(layout, weights)

    assert list(from_file) == layout
    for name in layout:
        for read, kept in zip(from_file[name], from_memory[name], strict=True):
            np.testing.assert_array_equal(read, kept)


def test_no_windows_give_empty_outputs():
    spec = SPECS[-1]
    output = forward(
        spec,
        layer_weights(weighted_layers(spec), random_weights(spec)),
        np.empty((0, spec.window_length, spec.n_channels)),
    )
    assert output.embeddings.shape == (0, spec.units)
    assert output.predictions.shape == (0, spec.horizon, spec.n_channels)
