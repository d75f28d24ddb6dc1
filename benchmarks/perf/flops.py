"""How much matmul work a window costs, and how fast this machine multiplies float32 matrices.

FLOPs are counted analytically, matmuls only (2 * m * n * k per (m, k) x (k, n) product; the gate
non-linearities and element-wise products are left out, as they are a few percent of the total):
an LSTM layer of ``units`` units on ``inputs`` inputs does, per step, one input and one recurrent
product into its four gates, ``2 * 4 * units * (inputs + units)`` FLOPs; an encoder layer runs
``window`` steps, a decoder layer as many steps as it emits rows (``window`` to reconstruct,
``horizon`` to predict), its input, the repeated embedding, counted at every step as the kernels
compute it; the dense output adds ``2 * units * channels`` per emitted row.
"""

from __future__ import annotations

import time

import numpy as np

MATMUL_SIZE = 2048


def lstm_autoencoder_flops(
    *, window: int, channels: int, units: int, depth: int, decoder_steps: tuple[int, ...] | None = None
) -> int:
    """Matmul FLOPs of one forward pass of an autoencoder over one window: the encoder over the
    window's ``window`` steps, then one decoder per entry of ``decoder_steps`` (the reconstruction
    decoder runs ``window`` steps, the prediction decoder ``horizon``; default: reconstruction only)."""
    encoder_inputs = [channels] + [units] * (depth - 1)
    encoder = window * sum(2 * 4 * units * (inputs + units) for inputs in encoder_inputs)
    decoder_step = depth * 2 * 4 * units * (units + units) + 2 * units * channels
    return encoder + sum(steps * decoder_step for steps in (decoder_steps or (window,)))


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
