"""Per-channel standardisation fitted on training rows only, and saved with the model.

Fitting on the training part alone keeps validation and scoring honest (no leakage of future
levels), and saving the fitted numbers means a later run scales new data exactly as training did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ChannelScaler:
    """Subtracts each channel's training mean and divides by its training standard deviation."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]

    @classmethod
    def fit(cls, values: np.ndarray) -> ChannelScaler:
        """Learn the scaling of ``values`` (n_rows, channels); a constant channel gets scale 1."""
        mean = values.mean(axis=0)
        std = values.std(axis=0)
        scale = np.where(std > 1e-12, std, 1.0)
        return cls(mean=tuple(float(m) for m in mean), scale=tuple(float(s) for s in scale))

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Scale ``values`` (..., channels) into model units."""
        return (values - np.asarray(self.mean)) / np.asarray(self.scale)

    def inverse_transform(self, scaled: np.ndarray) -> np.ndarray:
        """Map model units (..., channels) back to the data's own units."""
        return scaled * np.asarray(self.scale) + np.asarray(self.mean)

    def to_dict(self) -> dict[str, list[float]]:
        """Plain JSON-able form, for the model record."""
        return {"mean": list(self.mean), "scale": list(self.scale)}

    @classmethod
    def from_dict(cls, record: dict[str, list[float]]) -> ChannelScaler:
        """Rebuild from ``to_dict`` output."""
        return cls(mean=tuple(record["mean"]), scale=tuple(record["scale"]))
