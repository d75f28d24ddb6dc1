"""Embeddings: which windows look alike, as the encoder sees them, across streams."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, queries

st.title("Embeddings")
windows = data.load(queries.embeddings)
if windows.empty:
    st.info("No windows with a 2-D projection are stored yet.")
    st.stop()

st.caption("Each point is a stored window at its 2-D projection; colour is its cluster, a red ring marks "
           "a flagged window. Windows close together were encoded alike.")
sizes = windows.groupby("cluster")["window_id"].count()
flagged = windows[windows["is_anomaly"].astype(bool)].groupby("cluster")["window_id"].count()
clusters = sorted(int(cluster) for cluster in sizes.index)


def _describe(cluster: int | None) -> str:
    if cluster is None:
        return "all clusters"
    return f"cluster {cluster}: {sizes[cluster]} windows, {flagged.get(cluster, 0)} flagged"


chosen = st.selectbox("Cluster", [None, *clusters], format_func=_describe, key="cluster")
st.plotly_chart(charts.embedding_figure(windows, chosen), key="embedding_chart")

if chosen is not None:
    members = windows[windows["cluster"] == chosen]
    by_stream = (
        members.groupby("stream")
        .agg(windows=("window_id", "count"), flagged=("is_anomaly", "sum"))
        .sort_values("windows", ascending=False)
    )
    st.subheader(f"Cluster {chosen}: {len(members)} windows from {len(by_stream)} streams")
    st.dataframe(by_stream, key="cluster_streams")
    st.dataframe(
        members[["window_id", "stream", "start_ts", "end_ts", "error", "is_anomaly", "anomaly_id"]],
        hide_index=True, key="cluster_windows",
    )
