"""Plotly figures of the dashboard, built from the DataFrames of ``dashboard.queries``.

No Streamlit here, so each figure can be checked in tests (its traces, shapes and size). Scatter
traces are SVG (not WebGL): the stream view never holds more than a few thousand points per trace,
and SVG renders the same in every browser, headless ones included.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

ANOMALY_FILL = "rgba(214, 39, 40, 0.18)"
ANOMALY_COLOUR = "#d62728"
THRESHOLD_COLOUR = "#ff7f0e"
ERROR_COLOUR = "#7f7f7f"
# Cluster colours leave out red, which marks anomalies everywhere in the dashboard.
CLUSTER_COLOURS = ["#1f77b4", "#2ca02c", "#9467bd", "#17becf", "#8c564b", "#bcbd22", "#e377c2", "#7f7f7f"]
# An event shorter than this share of the visible range is widened to it, or it would not show at all.
MIN_SHADE_FRACTION = 0.004


def stream_figure(
    points: pd.DataFrame,
    channels: Sequence[str],
    events: pd.DataFrame,
    thresholds: pd.DataFrame,
) -> go.Figure:
    """The series (one line per channel) above its reconstruction error, on one time axis.

    ``points``: ``ts``, one column per channel and ``error`` (already downsampled). ``events``: the
    anomalies to shade (``id``, ``start_ts``, ``end_ts``, ``peak_ts``, ``peak_error``, ``severity``).
    ``thresholds``: ``threshold``, ``version``, ``start_ts``, ``end_ts`` per model version, drawn as a
    step so a retrained model's new threshold shows where it took over.
    """
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.62, 0.38],
        subplot_titles=("Values", "Reconstruction error"),
    )
    for channel in channels:
        figure.add_trace(
            go.Scatter(x=points["ts"], y=points[channel], name=channel, mode="lines", line={"width": 1}),
            row=1, col=1,
        )
    figure.add_trace(
        go.Scatter(x=points["ts"], y=points["error"], name="error", mode="lines",
                   line={"width": 1, "color": ERROR_COLOUR}),
        row=2, col=1,
    )
    if not thresholds.empty:
        figure.add_trace(_threshold_trace(thresholds), row=2, col=1)
    if not points.empty:
        min_width = (points["ts"].max() - points["ts"].min()) * MIN_SHADE_FRACTION
        for event in events.itertuples():
            widen = max(min_width - (event.end_ts - event.start_ts), pd.Timedelta(0)) / 2
            figure.add_vrect(x0=event.start_ts - widen, x1=event.end_ts + widen, fillcolor=ANOMALY_FILL,
                             line_width=0, layer="below")
    if not events.empty:
        figure.add_trace(
            go.Scatter(
                x=events["peak_ts"], y=events["peak_error"], mode="markers", name="anomaly peak",
                marker={"color": ANOMALY_COLOUR, "size": 9, "symbol": "x"},
                customdata=np.stack([events["id"], events["severity"]], axis=1),
                hovertemplate="anomaly %{customdata[0]}<br>severity %{customdata[1]:.2f}<extra></extra>",
            ),
            row=2, col=1,
        )
    figure.update_layout(height=560, margin={"l": 10, "r": 10, "t": 40, "b": 10}, hovermode="x unified",
                         legend={"orientation": "h", "y": -0.08})
    return figure


def _threshold_trace(thresholds: pd.DataFrame) -> go.Scatter:
    ordered = thresholds.sort_values("start_ts")
    x = [*ordered["start_ts"], ordered["end_ts"].iloc[-1]]
    y = [*ordered["threshold"], ordered["threshold"].iloc[-1]]
    versions = [*ordered["version"], ordered["version"].iloc[-1]]
    return go.Scatter(
        x=x, y=y, name="threshold", mode="lines", line={"shape": "hv", "dash": "dash",
                                                        "color": THRESHOLD_COLOUR},
        customdata=versions, hovertemplate="threshold %{y:.3g} (model v%{customdata})<extra></extra>",
    )


def window_figure(
    timestamps: Sequence[pd.Timestamp],
    actual: np.ndarray,
    reconstruction: np.ndarray,
    per_timestep_error: np.ndarray,
    channels: Sequence[str],
) -> go.Figure:
    """One window as actual vs reconstruction per channel, with the per-timestep error below.

    ``actual`` and ``reconstruction`` are ``(window_length, n_channels)`` in original units.
    """
    n_channels = len(channels)
    figure = make_subplots(
        rows=n_channels + 1, cols=1, shared_xaxes=True, vertical_spacing=0.05,
        subplot_titles=[*channels, "error per timestep"],
    )
    length = len(per_timestep_error)
    x = list(timestamps[:length])
    for index in range(n_channels):
        show_legend = index == 0
        figure.add_trace(go.Scatter(x=x, y=actual[:length, index], name="actual", mode="lines+markers",
                                    marker={"size": 4}, line={"color": "#1f77b4"}, legendgroup="actual",
                                    showlegend=show_legend), row=index + 1, col=1)
        figure.add_trace(go.Scatter(x=x, y=reconstruction[:length, index], name="reconstruction",
                                    mode="lines", line={"color": THRESHOLD_COLOUR, "dash": "dot"},
                                    legendgroup="reconstruction", showlegend=show_legend),
                         row=index + 1, col=1)
    figure.add_trace(go.Bar(x=x, y=per_timestep_error, name="error", marker_color=ANOMALY_COLOUR),
                     row=n_channels + 1, col=1)
    figure.update_layout(height=220 * (n_channels + 1), margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure


def channel_share_figure(channels: Sequence[str], share: np.ndarray) -> go.Figure:
    """Each channel's part of the window's error, as a horizontal bar chart in percent."""
    figure = go.Figure(
        go.Bar(x=np.asarray(share) * 100, y=list(channels), orientation="h", marker_color=ANOMALY_COLOUR,
               hovertemplate="%{y}: %{x:.1f}%<extra></extra>")
    )
    figure.update_layout(height=80 + 40 * len(channels), xaxis_title="share of error (%)",
                         margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return figure


def embedding_figure(windows: pd.DataFrame, highlight_cluster: int | None = None) -> go.Figure:
    """Stored windows at their 2-D positions, one colour per cluster, flagged windows ringed.

    ``windows``: ``stream``, ``start_ts``, ``cluster``, ``x``, ``y``, ``is_anomaly``, ``anomaly_id``,
    ``error``. Hovering names the stream and the window's start. With ``highlight_cluster``, the other
    clusters are faded.
    """
    figure = go.Figure()
    clusters = windows["cluster"].fillna(-1).astype(int)
    for cluster in sorted(clusters.unique()):
        members = windows[clusters == cluster]
        faded = highlight_cluster is not None and cluster != highlight_cluster
        colour = ERROR_COLOUR if cluster < 0 else CLUSTER_COLOURS[cluster % len(CLUSTER_COLOURS)]
        figure.add_trace(
            go.Scatter(
                x=members["x"], y=members["y"], mode="markers",
                name="no cluster" if cluster < 0 else f"cluster {cluster}",
                opacity=0.2 if faded else 0.85, marker={"size": 8, "color": colour},
                customdata=np.stack(
                    [members["stream"], members["start_ts"].astype(str), members["error"]], axis=1
                ),
                hovertemplate="%{customdata[0]}<br>%{customdata[1]}<br>error %{customdata[2]:.3g}"
                "<extra>%{fullData.name}</extra>",
            )
        )
    flagged = windows[windows["is_anomaly"].astype(bool)]
    if not flagged.empty:
        figure.add_trace(
            go.Scatter(
                x=flagged["x"], y=flagged["y"], mode="markers", name="flagged",
                marker={"size": 14, "symbol": "circle-open", "color": ANOMALY_COLOUR, "line": {"width": 2}},
                customdata=np.stack([flagged["stream"], flagged["start_ts"].astype(str),
                                     flagged["anomaly_id"]], axis=1),
                hovertemplate="%{customdata[0]}<br>%{customdata[1]}<br>anomaly %{customdata[2]}"
                "<extra>flagged</extra>",
            )
        )
    figure.update_layout(height=560, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         xaxis_title="projection x", yaxis_title="projection y")
    return figure
