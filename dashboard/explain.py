"""Why a window was flagged: where in time and in which channels the reconstruction missed.

Pure numpy on the values the detail page reads (the window's actual values and the model's stored
reconstruction, both in original units), so it is tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WindowError:
    """The reconstruction error of one window, split two ways.

    ``per_timestep`` has shape ``(window_length,)``: the mean over channels of the squared error, each
    channel in units of its scale. ``channel_share`` has shape ``(n_channels,)`` and sums to 1: each
    channel's part of the window's total squared error.
    """

    per_timestep: np.ndarray
    channel_share: np.ndarray


def window_error(actual: np.ndarray, reconstruction: np.ndarray, scales: np.ndarray) -> WindowError:
    """Error profile of a window; ``actual`` and ``reconstruction`` are ``(window_length, n_channels)``.

    ``scales`` (``(n_channels,)``, e.g. each channel's standard deviation over the stream) puts the
    channels on one footing, as the model's scaler does, so that a channel measured in large units does
    not dominate. When the two arrays differ in length (the stored window ran past data that was later
    dropped), the common leading part is used. Missing values count as no error.
    """
    length = min(len(actual), len(reconstruction))
    residual = (np.asarray(actual[:length], float) - np.asarray(reconstruction[:length], float)) / scales
    squared = np.nan_to_num(residual**2)
    total = squared.sum()
    n_channels = squared.shape[1]
    share = squared.sum(axis=0) / total if total > 0 else np.full(n_channels, 1.0 / n_channels)
    return WindowError(per_timestep=squared.mean(axis=1), channel_share=share)
