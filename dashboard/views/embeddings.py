"""Embeddings: which windows of a stream look alike, as its model's encoder sees them.

Each stream's model has its own encoder, so positions and clusters are only comparable between
windows encoded by the same model: the page shows one model at a time.
"""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, queries
from dashboard.widgets import linked_selectbox

st.title("Embeddings")
windows = data.load(queries.embeddings)
if windows.empty:
    st.info("No windows with a 2-D projection are stored yet.")
    st.stop()

models = (
    windows.groupby(["model_id", "stream", "model_version"])["is_anomaly"]
    .sum()
    .reset_index()
    .sort_values(["is_anomaly", "stream"], ascending=[False, True])
)
labels = {
    int(row.model_id): f"{row.stream} · model v{row.model_version} · {int(row.is_anomaly)} flagged windows"
    for row in models.itertuples()
}
model_id = linked_selectbox("Stream and model", list(labels), "model", format_func=labels.get)
windows = windows[windows["model_id"] == model_id]

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
    st.subheader(f"Cluster {chosen}: {len(members)} windows, {int(members['is_anomaly'].sum())} flagged")
    st.dataframe(
        members[["window_id", "start_ts", "end_ts", "error", "is_anomaly", "anomaly_id"]],
        hide_index=True, key="cluster_windows",
    )
