"""The article's model as written: the yardstick every speed and quality figure is compared with.

LSTM(100, relu) -> RepeatVector -> LSTM(100, relu) -> TimeDistributed(Dense), Adam, MSE, trained
with plain ``keras.Model.fit`` on every stride-1 window (no validation split, no early stopping) and
scored with ``predict``, exactly as the article's code does, on windows of 64 rows.
"""

from __future__ import annotations

import time

import numpy as np

WINDOW = 64
UNITS = 100
BATCH = 32


def build(n_channels: int, seed: int):
    """The article's model, compiled; seeded so that its F1 is the same from run to run."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(WINDOW, n_channels)),
            keras.layers.LSTM(UNITS, activation="relu"),
            keras.layers.RepeatVector(WINDOW),
            keras.layers.LSTM(UNITS, activation="relu", return_sequences=True),
            keras.layers.TimeDistributed(keras.layers.Dense(n_channels)),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def train(windows: np.ndarray, *, epochs: int, seed: int) -> tuple[object, float]:
    """The fitted model and the wall seconds from building it to its final weights."""
    started = time.perf_counter()
    model = build(windows.shape[2], seed)
    model.fit(windows, windows, epochs=epochs, batch_size=BATCH, verbose=0)
    return model, time.perf_counter() - started


def window_errors(model, windows: np.ndarray) -> np.ndarray:
    """Mean squared reconstruction error of each window (n_windows,), as the detector defines it."""
    reconstructions = model.predict(windows, batch_size=BATCH, verbose=0)
    return ((reconstructions - windows) ** 2).mean(axis=(1, 2))
