"""Overview: every stream's state at a glance, alerts that did not reach their receivers, and the run
history with failures spelled out."""

from __future__ import annotations

import streamlit as st

from dashboard import data, queries
from dashboard.widgets import open_page

MAX_FAILURES_SHOWN = 5

st.title("Overview")
runs = data.load(queries.run_history)
overview = data.load(queries.stream_overview)

latest = runs.iloc[0]
streams_col, open_col, run_col = st.columns(3)
streams_col.metric("Streams", len(overview))
open_col.metric("Open anomalies", int(overview["open_anomalies"].sum()))
run_col.metric(f"Latest run #{latest['id']}", str(latest["status"]),
               f"started {latest['started_at']:%Y-%m-%d %H:%M} UTC", delta_color="off")

alerts = data.load(queries.undelivered_alerts)
if alerts.count and alerts.last_error is not None:
    st.warning(f"{alerts.count} alert(s) not delivered yet; the next run retries. Last error "
               f"({alerts.last_attempt_at:%Y-%m-%d %H:%M} UTC): {alerts.last_error}",
               icon=":material/notifications_off:")
elif alerts.count:
    st.info(f"{alerts.count} alert(s) waiting for delivery: the next run with [alerts] configured sends "
            "them.", icon=":material/notifications:")

st.subheader("Streams")
st.caption("Select a stream to open its series.")
selection = st.dataframe(
    overview,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="overview_streams",
    column_config={
        "stream": st.column_config.TextColumn("Stream", width="large"),
        "channels": "Channels",
        "open_anomalies": st.column_config.NumberColumn("Open anomalies"),
        "anomalies": st.column_config.NumberColumn("All anomalies"),
        "latest_anomaly": st.column_config.DatetimeColumn("Latest anomaly (UTC)"),
        "model_version": st.column_config.NumberColumn("Active model", format="v%d"),
        "threshold": st.column_config.NumberColumn("Threshold", format="%.4g"),
        "model_trained_at": st.column_config.DatetimeColumn("Model trained (UTC)"),
        "last_scored_ts": st.column_config.DatetimeColumn("Last scored (UTC)"),
    },
)
if selection.selection.rows:
    open_page("views/stream.py", stream=overview.iloc[selection.selection.rows[0]]["stream"])

st.subheader("Runs")
failures = runs[runs["status"] == "failed"].head(MAX_FAILURES_SHOWN)
for failure in failures.itertuples():
    st.error(f"Run #{failure.id} ({failure.command}, started {failure.started_at:%Y-%m-%d %H:%M} UTC) "
             f"failed: {failure.error or 'no message recorded'}", icon=":material/error:")
st.dataframe(
    runs,
    hide_index=True,
    column_config={
        "id": st.column_config.NumberColumn("Run", format="#%d"),
        "command": "Command",
        "status": "Status",
        "started_at": st.column_config.DatetimeColumn("Started (UTC)"),
        "finished_at": st.column_config.DatetimeColumn("Finished (UTC)"),
        "n_streams": "Streams",
        "n_windows": "Windows",
        "n_anomalies": "Anomalies",
        "error": st.column_config.TextColumn("Error", width="large"),
        "duration_s": st.column_config.NumberColumn("Duration (s)", format="%.1f"),
    },
)
