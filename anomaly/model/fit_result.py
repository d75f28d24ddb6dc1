"""What every trainer returns for one network: the one shape the detector completes a fit from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FitResult:
    """One training run's result: ``weights`` in ``Network.autoencoder.get_weights()`` order (the best
    epoch's), the best validation loss (mean squared error in scaled units, both decoders' summed for
    a composite model) and the epochs trained before early stopping ended it."""

    weights: list[np.ndarray]
    val_loss: float
    epochs_trained: int
