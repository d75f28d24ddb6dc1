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


def _cluster_colour(cluster: int) -> str:
    return CLUSTER_COLOURS[cluster % len(CLUSTER_COLOURS)]


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
        colour = ERROR_COLOUR if cluster < 0 else _cluster_colour(cluster)
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


# Marker symbols that tell streams apart in the cross-stream map (colour is taken by the cluster).
STREAM_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "x", "star", "hexagon",
                  "pentagon", "triangle-down"]
# Streams in the shape overlay; red is left out, as for clusters.
STREAM_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


def lookalike_figure(windows: pd.DataFrame, highlight_cluster: int | None = None) -> go.Figure:
    """Windows of every stream in the shared shape space: colour is the cluster, the marker's symbol
    the stream; flagged windows are filled, normal ones (context) small and open. The legend has one
    plain entry per cluster (a circle, clicking it hides the cluster) and one grey entry per stream,
    since a trace's own entry would show the symbol of whichever stream comes first.

    ``windows``: ``stream``, ``channel``, ``start_ts``, ``end_ts``, ``error``, ``is_anomaly``,
    ``anomaly_id``, ``cluster``, ``x``, ``y``. Hovering names the stream, the window's time and its
    anomaly. With ``highlight_cluster``, the other clusters are faded.
    """
    figure = go.Figure()
    streams = sorted(windows["stream"].unique())
    symbol_of = {stream: STREAM_SYMBOLS[index % len(STREAM_SYMBOLS)] for index, stream in enumerate(streams)}
    flags = windows["is_anomaly"].astype(bool)
    for cluster in sorted(int(c) for c in windows["cluster"].unique()):
        faded = highlight_cluster is not None and cluster != highlight_cluster
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"cluster {cluster}",
                                    legendgroup=f"cluster {cluster}",
                                    marker={"size": 10, "color": _cluster_colour(cluster)}))
        for flagged in (True, False):
            members = windows[(windows["cluster"] == cluster) & (flags == flagged)]
            if members.empty:
                continue
            symbols = [symbol_of[stream] + ("" if flagged else "-open") for stream in members["stream"]]
            anomaly = members["anomaly_id"].map(lambda value: "—" if pd.isna(value) else f"#{int(value)}")
            figure.add_trace(
                go.Scatter(
                    x=members["x"], y=members["y"], mode="markers",
                    name=f"cluster {cluster}" if flagged else f"cluster {cluster}, normal",
                    legendgroup=f"cluster {cluster}", showlegend=False,
                    opacity=0.15 if faded else (0.9 if flagged else 0.5),
                    marker={"size": 11 if flagged else 7, "color": _cluster_colour(cluster),
                            "symbol": symbols},
                    customdata=np.stack(
                        [members["stream"], members["channel"], members["start_ts"].astype(str),
                         members["end_ts"].astype(str), anomaly, members["error"]], axis=1
                    ),
                    hovertemplate="%{customdata[0]} (%{customdata[1]})<br>%{customdata[2]} to "
                    "%{customdata[3]}<br>anomaly %{customdata[4]} · error %{customdata[5]:.3g}"
                    "<extra>%{fullData.name}</extra>",
                )
            )
    for stream in streams:
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=stream, legendgroup="streams",
                                    legendgrouptitle_text="streams",
                                    marker={"size": 10, "color": ERROR_COLOUR, "symbol": symbol_of[stream]}))
    figure.update_layout(height=560, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         xaxis_title="shape projection x", yaxis_title="shape projection y")
    return figure


def shapes_figure(windows: pd.DataFrame, shapes: np.ndarray) -> go.Figure:
    """The z-normalised shapes of ``windows`` overlaid, one colour per stream, with their mean dashed.

    ``windows``: ``stream``, ``start_ts``, ``anomaly_id`` per row of ``shapes``
    (``(n_windows, shape_length)``). The x axis is the position in the window in percent, so windows
    of different lengths and sampling intervals line up.
    """
    figure = go.Figure()
    position = np.linspace(0.0, 100.0, shapes.shape[1])
    streams = sorted(windows["stream"].unique())
    colour_of = {stream: STREAM_COLOURS[index % len(STREAM_COLOURS)] for index, stream in enumerate(streams)}
    shown: set[str] = set()
    for row, shape in zip(windows.itertuples(), shapes, strict=True):
        anomaly = "—" if pd.isna(row.anomaly_id) else f"#{int(row.anomaly_id)}"
        figure.add_trace(go.Scatter(
            x=position, y=shape, mode="lines", name=row.stream, legendgroup=row.stream,
            showlegend=row.stream not in shown, line={"width": 1.2, "color": colour_of[row.stream]},
            opacity=0.7, hovertemplate=f"{row.stream}<br>{row.start_ts}<br>anomaly {anomaly}<extra></extra>",
        ))
        shown.add(row.stream)
    figure.add_trace(go.Scatter(x=position, y=shapes.mean(axis=0), mode="lines", name="mean shape",
                                line={"width": 3, "color": "black", "dash": "dash"}))
    figure.update_layout(height=360, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         xaxis_title="position in window (%)", yaxis_title="z-normalised value")
    return figure


def cluster_shapes_figure(windows: pd.DataFrame, shapes: np.ndarray) -> go.Figure:
    """The mean z-normalised shape of each cluster, in the cluster's colour: what each group looks like.

    ``windows``: ``cluster`` per row of ``shapes`` (``(n_windows, shape_length)``).
    """
    figure = go.Figure()
    position = np.linspace(0.0, 100.0, shapes.shape[1])
    clusters = windows["cluster"].to_numpy()
    for cluster in sorted(int(c) for c in np.unique(clusters)):
        members = clusters == cluster
        n_members = int(members.sum())
        figure.add_trace(go.Scatter(
            x=position, y=shapes[members].mean(axis=0), mode="lines",
            name=f"cluster {cluster} ({n_members} window{'s' * (n_members != 1)})",
            line={"width": 2.5, "color": _cluster_colour(cluster)},
        ))
    figure.update_layout(height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         xaxis_title="position in window (%)", yaxis_title="mean z-normalised value")
    return figure
