"""How much matmul work a window costs, and how fast this machine multiplies float32 matrices.

FLOPs are counted analytically, matmuls only (2 * m * n * k per (m, k) x (k, n) product; the gate
non-linearities and element-wise products are left out, as they are a few percent of the total):
an LSTM layer of ``units`` units on ``inputs`` inputs does, per step, one input and one recurrent
product into its four gates, ``2 * 4 * units * (inputs + units)`` FLOPs; an encoder layer and a
decoder layer each run ``window`` steps (the decoder's input, the repeated embedding, counts at every
step, as Keras computes it at every step); the dense output adds ``2 * units * channels`` per step.
"""

from __future__ import annotations

import time

import numpy as np

MATMUL_SIZE = 2048


def lstm_autoencoder_flops(*, window: int, channels: int, units: int, depth: int) -> int:
    """Matmul FLOPs of one forward pass of a reconstruction autoencoder over one window."""
    encoder = [channels] + [units] * (depth - 1)
    decoder = [units] * depth
    per_step = sum(2 * 4 * units * (inputs + units) for inputs in encoder + decoder)
    return window * (per_step + 2 * units * channels)


def matmul_gflops(repeats: int = 5) -> dict[str, float]:
    """Best-of-``repeats`` float32 GFLOP/s of a 2048 x 2048 product, by NumPy and by TensorFlow
    (TensorFlow's oneDNN kernels are often faster than NumPy's BLAS: the larger is the bound)."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = rng.random((MATMUL_SIZE, MATMUL_SIZE), dtype=np.float32)
    b = rng.random((MATMUL_SIZE, MATMUL_SIZE), dtype=np.float32)
    flops = 2 * MATMUL_SIZE**3
    ta, tb = tf.constant(a), tf.constant(b)
    tf.matmul(ta, tb).numpy()
    rates = {}
    for name, multiply in (("numpy", lambda: a @ b), ("tensorflow", lambda: tf.matmul(ta, tb).numpy())):
        best = np.inf
        for _ in range(repeats):
            started = time.perf_counter()
            multiply()
            best = min(best, time.perf_counter() - started)
        rates[name] = flops / best / 1e9
    return rates
