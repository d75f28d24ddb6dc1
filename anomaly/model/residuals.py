"""Model output minus data, per decoder, for the windows a detector scores (see ``anomaly.model.targets``).

A reconstruction decoder is compared with the window it rebuilt; a prediction decoder with the rows it
predicted, and its residuals are given to the window that ends with those rows. Both stay in scaled
units; ``anomaly.scoring.window_scorer`` turns them into window errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from anomaly.model.network import NetworkOutput
from anomaly.model.targets import PredictionTargets, prediction_targets
from anomaly.windowing import gather_windows

OutputsOf = Callable[[np.ndarray], NetworkOutput]


@dataclass(frozen=True)
class Residuals:
    """Residuals of the windows at some starts: ``reconstruction`` (n, window, channels) and
    ``prediction`` (n, horizon, channels), NaN where a predicted row lies outside its segment, each
    None where the variant has no such decoder; ``targets`` says which rows each prediction covers."""

    reconstruction: np.ndarray | None
    prediction: np.ndarray | None
    targets: PredictionTargets | None

    def parts(self) -> dict[str, np.ndarray]:
        """The residual arrays the variant has, by decoder name."""
        named = {"reconstruction": self.reconstruction, "prediction": self.prediction}
        return {name: residuals for name, residuals in named.items() if residuals is not None}


def variant_residuals(
    outputs_of: OutputsOf,
    variant: str,
    horizon: int,
    scaled: np.ndarray,
    segment: np.ndarray,
    starts: np.ndarray,
    length: int,
) -> Residuals:
    """Each decoder's residuals for the windows of ``length`` rows at ``starts`` of ``scaled``
    (n_rows, channels), with ``outputs_of`` the network's outputs for a batch of windows."""
    windows = gather_windows(scaled, starts, length)
    if variant == "reconstruction":
        return Residuals(outputs_of(windows).reconstructions - windows, None, None)
    targets = prediction_targets(segment, starts, length, horizon)
    composite = variant == "composite"
    inputs = np.unique(np.concatenate([starts, targets.inputs]) if composite else targets.inputs)
    output = outputs_of(gather_windows(scaled, inputs, length))
    predictions = output.predictions[np.searchsorted(inputs, targets.inputs)]
    actual = scaled[np.minimum(targets.rows, len(scaled) - 1)]
    prediction = np.where(targets.valid[:, :, None], predictions - actual, np.nan)
    reconstruction = None
    if composite:
        reconstruction = output.reconstructions[np.searchsorted(inputs, starts)] - windows
    return Residuals(reconstruction, prediction, targets)


def at_offsets(values: np.ndarray, targets: PredictionTargets, length: int, fill: float) -> np.ndarray:
    """Predicted-row ``values`` (n, horizon, k) placed at their rows' positions in the judged windows:
    (n, length, k), ``fill`` where no valid predicted row falls."""
    placed = np.full((len(values), length, values.shape[2]), fill)
    inside = targets.valid & (targets.offsets >= 0) & (targets.offsets < length)
    window, step = np.nonzero(inside)
    placed[window, targets.offsets[window, step]] = values[window, step]
    return placed
