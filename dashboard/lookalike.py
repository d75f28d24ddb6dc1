"""Anomalies that look alike across streams, compared by the shape of their stored values.

Each stream has its own encoder, so the stored embeddings, clusters and 2-D positions of two streams
live in different spaces and cannot be compared. Here a window is represented by what every stream
shares: its raw values from ``scores``, one channel (for a multivariate stream the channel with the
largest share of the window's reconstruction error, the one the flag is about), z-normalised so that
level and scale do not count, and resampled by position to ``SHAPE_LENGTH`` points so that streams
with different window lengths compare. A spike on one stream and a spike on another then land close
together whatever their units.

The flagged windows are projected to 2-D (PCA) and clustered (k-means, k by silhouette) with
``anomaly.embeddings.EmbeddingSpace``, the same fit the pipeline uses for encoder embeddings; normal
windows added for context are placed into that fitted space afterwards, so adding them never moves the
flagged windows or changes their clusters. Everything but ``load_map`` is pure numpy/pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from anomaly.embeddings import EmbeddingSpace
from dashboard import explain, queries

SHAPE_LENGTH = 32
MAX_CLUSTERS = 6
SEED = 0
# A window whose values vary less than this (relative to their level) is taken as constant.
CONSTANT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class LookalikeMap:
    """Windows of every stream in one shape space.

    ``windows``: one row per window that had values, flagged first: window_id, stream_id, stream,
    channel (the one shaped), start_ts, end_ts, error, is_anomaly, anomaly_id, status, x, y, cluster.
    ``shapes``: ``(len(windows), SHAPE_LENGTH)``, row ``i`` the z-normalised shape of window ``i``.
    ``n_without_values``: windows left out because no scored values lie inside them.
    """

    windows: pd.DataFrame
    shapes: np.ndarray
    n_without_values: int


def window_shape(values: np.ndarray, length: int = SHAPE_LENGTH) -> np.ndarray:
    """The shape of one channel's values ``(window_length,)``: missing values dropped, resampled
    linearly by position to ``length`` points, then z-normalised (mean 0, standard deviation 1).

    A constant window has no shape beyond its level and becomes all zeros rather than a division by
    zero. Raises ``ValueError`` when no value is finite.
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        raise ValueError("a window needs at least one finite value to have a shape")
    resampled = np.interp(np.linspace(0.0, 1.0, length), np.linspace(0.0, 1.0, finite.size), finite)
    centred = resampled - resampled.mean()
    spread = centred.std()
    if spread <= CONSTANT_TOLERANCE * max(1.0, float(np.abs(resampled).max())):
        return np.zeros(length)
    return centred / spread


def dominant_channel(actual: np.ndarray, reconstruction: np.ndarray | None, scales: np.ndarray) -> int:
    """Index of the channel a multivariate window's flag is mostly about.

    ``actual`` is ``(window_length, n_channels)``, ``reconstruction`` the same or None when none is
    stored, ``scales`` ``(n_channels,)`` each channel's spread over the stream. With a reconstruction:
    the largest share of the reconstruction error (as the anomaly detail shows it); without one: the
    channel that varies most within the window, in units of its scale.
    """
    if actual.shape[1] == 1:
        return 0
    if reconstruction is not None and len(reconstruction):
        rebuilt = np.asarray(reconstruction, dtype=float)
        if rebuilt.ndim == 2 and rebuilt.shape[1] == actual.shape[1]:
            return int(np.argmax(explain.window_error(actual, rebuilt, scales).channel_share))
    spread = pd.DataFrame(actual / scales).std(ddof=0).fillna(0.0)
    return int(np.argmax(spread.to_numpy()))


def place_shapes(shapes: np.ndarray, fitted_on: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2-D positions ``(n, 2)`` and cluster labels ``(n,)`` of ``shapes`` ``(n, SHAPE_LENGTH)``.

    The projection and clusters are fitted on the rows where ``fitted_on`` (bool, ``(n,)``) is set and
    every row is then placed in them. Fewer than three distinct fitted shapes give one cluster (0);
    a single one sits at the origin with everything else.
    """
    n = len(shapes)
    fitted = shapes[fitted_on]
    if len(fitted) < 2:
        return np.zeros((n, 2)), np.zeros(n, dtype=int)
    space = EmbeddingSpace.fit(fitted, max_clusters=MAX_CLUSTERS, seed=SEED)
    return space.project(shapes), space.assign(shapes).astype(int)


def build_map(windows: pd.DataFrame, series: pd.DataFrame, scales: dict[int, np.ndarray]) -> LookalikeMap:
    """The look-alike map of ``windows`` (as ``queries.lookalike_windows`` returns them) from their raw
    values ``series`` (as ``queries.window_series``) and each multivariate stream's channel ``scales``
    by stream id (univariate streams need none)."""
    values_of = {int(window_id): rows for window_id, rows in series.groupby("window_id")}
    kept, channels, shapes = [], [], []
    for index, window in windows.iterrows():
        rows = values_of.get(int(window["window_id"]))
        names = list(window["channels"])
        if rows is None:
            continue
        actual = _channel_values(rows, len(names))
        scale = scales.get(int(window["stream_id"]), np.ones(len(names)))
        channel = dominant_channel(actual, window["reconstruction"], scale)
        if not np.isfinite(actual[:, channel]).any():
            continue
        kept.append(index)
        channels.append(names[channel])
        shapes.append(window_shape(actual[:, channel]))
    placed = windows.loc[kept].drop(columns=["channels", "reconstruction"]).reset_index(drop=True)
    placed.insert(placed.columns.get_loc("stream") + 1, "channel", channels)
    placed["is_anomaly"] = placed["is_anomaly"].astype(bool)
    placed["anomaly_id"] = placed["anomaly_id"].astype("Int64")
    shape_matrix = np.array(shapes, dtype=float).reshape(len(shapes), SHAPE_LENGTH)
    positions, clusters = place_shapes(shape_matrix, placed["is_anomaly"].to_numpy())
    placed["x"], placed["y"], placed["cluster"] = positions[:, 0], positions[:, 1], clusters
    return LookalikeMap(windows=placed, shapes=shape_matrix, n_without_values=len(windows) - len(kept))


def _channel_values(rows: pd.DataFrame, n_channels: int) -> np.ndarray:
    """``(n_rows, n_channels)`` from ``scores.value`` (one channel) or ``scores.values`` (a list)."""
    if n_channels <= 1:
        return np.array([[np.nan if value is None else value] for value in rows["value"]], dtype=float)
    return np.array([[np.nan] * n_channels if values is None else values for values in rows["values"]],
                    dtype=float)


def peak_window_per_anomaly(windows: pd.DataFrame) -> pd.DataFrame:
    """``windows`` (``queries.lookalike_windows``) with one flagged window per anomaly, the one with the
    highest error; flagged windows of no anomaly and normal windows stay, in their order."""
    flagged = windows["is_anomaly"].astype(bool) & windows["anomaly_id"].notna()
    peaks = windows[flagged].sort_values(["error", "window_id"], ascending=[False, True], kind="stable")
    keep = ~flagged
    keep[peaks.drop_duplicates("anomaly_id").index] = True
    return windows[keep].reset_index(drop=True)


def load_map(engine: Engine, normal_sample: int = 0, every_window: bool = False) -> LookalikeMap:
    """Read the flagged windows of every stream's active model (plus ``normal_sample`` normal ones for
    context) and their values, and place them in the shape space.

    Unless ``every_window``, each anomaly is represented by its highest-error window: the overlapping
    windows of one anomaly are shifted copies of one shape, and all of them would trace rings in the
    projection and let the clusters group by shift instead of by kind of anomaly.
    """
    windows = queries.lookalike_windows(engine, normal_sample)
    if not every_window:
        windows = peak_window_per_anomaly(windows)
    series = queries.window_series(engine, [int(window_id) for window_id in windows["window_id"]])
    scales = {}
    for stream in windows.drop_duplicates("stream_id").itertuples():
        if len(stream.channels) > 1:
            scales[int(stream.stream_id)] = queries.channel_scales(engine, int(stream.stream_id),
                                                                   list(stream.channels))
    return build_map(windows, series, scales)
