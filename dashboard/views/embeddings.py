"""Embeddings: which windows look alike, within one stream's model or across streams.

Each stream's model has its own encoder, so encoder positions and clusters are only comparable between
windows encoded by the same model: "One model" shows one at a time. "Across streams" compares the
flagged windows of every stream by the shape of their stored values instead (``dashboard.lookalike``),
so that an analyst sees that a spike on one stream looks like a spike on another.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data, lookalike, queries
from dashboard.widgets import linked_selectbox

ONE_MODEL = "One model"
ACROSS_STREAMS = "Across streams"
# Normal windows added for context when asked: enough to show where normal shapes lie, few enough
# not to bury the flagged ones.
NORMAL_SAMPLE = 60
# Shapes drawn at most in one cluster's overlay (the highest errors); more is an unreadable tangle.
MAX_SHAPES_DRAWN = 100
WINDOW_COLUMNS = ["stream", "channel", "start_ts", "end_ts", "error", "is_anomaly", "anomaly_id", "status",
                  "window_id"]
SPACE_EXPLANATION = (
    "Each point is a window, placed by the **shape of its stored values**: the raw values inside the "
    "window (for a multivariate stream, the channel with the largest share of its reconstruction "
    "error), z-normalised so that level and scale do not count, and resampled to "
    f"{lookalike.SHAPE_LENGTH} points. This is not the encoders' embedding: each stream has its own "
    "encoder, whose vectors cannot be compared across streams. The flagged windows of every stream's "
    "active model are projected to 2-D (PCA) and grouped (k-means, the number of clusters chosen by "
    "silhouette); colour is the cluster, the marker's symbol the stream."
)


def _flagged_summary(windows: pd.DataFrame) -> str:
    """"3 flagged windows from 2 streams": what a cluster holds, the point of comparing across streams."""
    flagged = windows[windows["is_anomaly"]]
    n_windows, n_streams = len(flagged), flagged["stream"].nunique()
    return (f"{n_windows} flagged window{'s' * (n_windows != 1)} from "
            f"{n_streams} stream{'s' * (n_streams != 1)}")


def _describe_clusters(windows: pd.DataFrame) -> dict[int | None, str]:
    """Selectbox labels: all clusters, then each with its flagged windows and their streams."""
    labels: dict[int | None, str] = {None: "all clusters"}
    for cluster, members in windows.groupby("cluster"):
        labels[int(cluster)] = f"cluster {cluster}: {_flagged_summary(members)}"
    return labels


def _window_table(windows: pd.DataFrame, key: str) -> None:
    st.dataframe(windows[WINDOW_COLUMNS], hide_index=True, key=key,
                 column_config={"is_anomaly": st.column_config.CheckboxColumn("flagged"),
                                "anomaly_id": st.column_config.NumberColumn("anomaly", format="%d"),
                                "error": st.column_config.NumberColumn(format="%.4g")})


def one_model() -> None:
    """The stored encoder embeddings of one stream's model, coloured by the model's clusters."""
    windows = data.load(queries.embeddings)
    if windows.empty:
        st.info("No windows with a 2-D projection are stored yet.")
        return
    models = (
        windows.groupby(["model_id", "stream", "model_version"])["is_anomaly"]
        .sum()
        .reset_index()
        .sort_values(["is_anomaly", "stream"], ascending=[False, True])
    )
    labels = {
        int(row.model_id):
            f"{row.stream} · model v{row.model_version} · {int(row.is_anomaly)} flagged windows"
        for row in models.itertuples()
    }
    model_id = linked_selectbox("Stream and model", list(labels), "model", format_func=labels.get)
    windows = windows[windows["model_id"] == model_id]

    st.caption("Each point is a stored window at its 2-D projection; colour is its cluster, a red ring "
               "marks a flagged window. Windows close together were encoded alike.")
    sizes = windows.groupby("cluster")["window_id"].count()
    flagged = windows[windows["is_anomaly"].astype(bool)].groupby("cluster")["window_id"].count()
    clusters = sorted(int(cluster) for cluster in sizes.index)

    def describe(cluster: int | None) -> str:
        if cluster is None:
            return "all clusters"
        return f"cluster {cluster}: {sizes[cluster]} windows, {flagged.get(cluster, 0)} flagged"

    chosen = st.selectbox("Cluster", [None, *clusters], format_func=describe, key="cluster")
    st.plotly_chart(charts.embedding_figure(windows, chosen), key="embedding_chart")

    if chosen is not None:
        members = windows[windows["cluster"] == chosen]
        st.subheader(f"Cluster {chosen}: {len(members)} windows, {int(members['is_anomaly'].sum())} flagged")
        st.dataframe(
            members[["window_id", "start_ts", "end_ts", "error", "is_anomaly", "anomaly_id"]],
            hide_index=True, key="cluster_windows",
        )


def across_streams() -> None:
    """The flagged windows of every stream in one shape space, and the members of a chosen cluster."""
    st.caption(SPACE_EXPLANATION)
    with_context = st.toggle(f"Add {NORMAL_SAMPLE} normal windows for context", value=False,
                             key="lookalike_context",
                             help="Placed in the space fitted on the flagged windows, so they move nothing.")
    every_window = st.toggle("Every flagged window", value=False, key="lookalike_every_window",
                             help="By default each anomaly shows as its highest-error window: its other "
                             "windows are shifted copies of the same shape.")
    space = data.load(lookalike.load_map, NORMAL_SAMPLE if with_context else 0, every_window)
    windows = space.windows
    flagged = windows[windows["is_anomaly"]]
    if space.n_without_values:
        st.caption(f"{space.n_without_values} stored windows are left out: no scored values lie inside them.")
    if flagged.empty:
        st.info("No flagged windows of the streams' active models are stored yet, so there is nothing to "
                "compare.")
        return
    if len(flagged) >= queries.MAX_LOOKALIKE_WINDOWS:
        st.caption(f"Showing the {queries.MAX_LOOKALIKE_WINDOWS} flagged windows with the highest error.")
    if len(flagged) == 1:
        st.info("Only one flagged window is stored: there is nothing to compare it with yet.")
        _window_table(flagged, "lookalike_windows")
        st.plotly_chart(charts.shapes_figure(flagged, space.shapes[flagged.index]), key="lookalike_shapes")
        return
    if len(flagged) < 3:
        st.info(f"Only {len(flagged)} flagged windows are stored: too few to cluster, so they form one "
                "group.")

    labels = _describe_clusters(windows)
    chosen = st.selectbox("Cluster", list(labels), format_func=labels.get, key="lookalike_cluster")
    st.plotly_chart(charts.lookalike_figure(windows, chosen), key="lookalike_chart")
    if chosen is None:
        st.markdown("**Mean shape of each cluster**")
        st.plotly_chart(charts.cluster_shapes_figure(windows, space.shapes), key="lookalike_cluster_shapes")
        return

    members = windows[windows["cluster"] == chosen].sort_values(["is_anomaly", "error"],
                                                                ascending=[False, False])
    st.subheader(f"Cluster {chosen}: {_flagged_summary(members)}")
    _window_table(members, "lookalike_windows")
    drawn = members.head(MAX_SHAPES_DRAWN)
    if len(members) > len(drawn):
        st.caption(f"The {len(drawn)} windows with the highest error are drawn.")
    st.markdown("**Their shapes** (z-normalised; x is the position in the window)")
    st.plotly_chart(charts.shapes_figure(drawn, space.shapes[drawn.index]), key="lookalike_shapes")


st.title("Embeddings")
mode = st.radio("Compare", [ONE_MODEL, ACROSS_STREAMS], horizontal=True, key="embedding_mode",
                help="One model: the encoder's own embedding of one stream. Across streams: every "
                     "stream's flagged windows compared by the shape of their values.")
if mode == ONE_MODEL:
    one_model()
else:
    across_streams()
