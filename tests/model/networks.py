"""Small networks with weights far from their initialisation, shared by the tests that compare a
forward pass (the fused kernel's, the NumPy one) with the Keras network's."""

from __future__ import annotations

import numpy as np

from anomaly.model.network import NetworkSpec, network_for

VARIANTS = ("reconstruction", "prediction", "composite")


def small_spec(variant: str, *, depth: int = 1, activation: str = "tanh", channels: int = 2) -> NetworkSpec:
    """A network small enough to build and compare in a test."""
    return NetworkSpec(
        window_length=12,
        n_channels=channels,
        variant=variant,
        horizon=0 if variant == "reconstruction" else 3,
        units=6,
        depth=depth,
        activation=activation,
        reverse_target=True,
        learning_rate=1e-3,
        seed=5,
    )


def random_windows(n: int, spec: NetworkSpec, seed: int = 0) -> np.ndarray:
    """``n`` windows of normal noise in ``spec``'s shape, float32."""
    shape = (n, spec.window_length, spec.n_channels)
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def random_weights(spec: NetworkSpec, seed: int = 1) -> list[np.ndarray]:
    """Weights far from the initial ones, so that every gate and bias matters."""
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.5, w.shape).astype(np.float32) for w in network_for(spec).initial_weights]
