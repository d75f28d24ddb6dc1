"""The LSTM autoencoder's parts, which ``anomaly.detectors.lstm_autoencoder`` composes.

- ``training_set``: the training, validation and held-out windows of a stream, in time order.
- ``trainers``: one interface (``Trainer``) over the fused-kernel and Keras trainers, each returning a
  ``fit_result.FitResult``; ``fused`` is TensorFlow's BlockLSTM path, ``adam`` and ``stopping`` its
  optimiser rule and early stopping.
- ``network``: the article's Keras networks per architecture (reconstruction, prediction, composite).
- ``targets`` and ``residuals``: which prediction judges which window, and model output minus data.

TensorFlow is imported only where a network is built or run.
"""

__all__ = [
    "adam",
    "fit_result",
    "fused",
    "network",
    "residuals",
    "stopping",
    "targets",
    "trainers",
    "training_set",
]
