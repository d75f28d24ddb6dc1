"""Anomaly detail: why a flag was raised (actual vs reconstruction, error over time and channels),
what it resembles (cluster, nearest windows), and the analyst's verdict, which only a signed-in analyst
can change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from anomaly.storage.database import error_reason
from dashboard import charts, data, explain, queries, signin
from dashboard.widgets import linked_selectbox

N_NEIGHBOURS = 10
_FLASH_KEY = "verdict_flash"

st.title("Anomaly detail")
table = data.load(queries.anomalies)
if table.empty:
    st.info("No anomalies have been flagged yet.")
    st.stop()
rows = table.set_index("id", drop=False)


def _label(anomaly_id: int) -> str:
    row = rows.loc[anomaly_id]
    return (f"#{anomaly_id} · {row['stream']} · {row['start_ts']:%Y-%m-%d %H:%M} · "
            f"severity {row['severity']:.2f} · {row['status']}")


anomaly_id = linked_selectbox("Anomaly (most severe first)", rows.index.tolist(), "anomaly", _label)
anomaly = rows.loc[anomaly_id]

severity_col, peak_col, windows_col, status_col = st.columns(4)
severity_col.metric("Severity", f"{anomaly['severity']:.2f}", help="peak error / threshold")
peak_col.metric("Peak error", f"{anomaly['peak_error']:.4g}", f"threshold {anomaly['threshold']:.4g}",
                delta_color="off")
windows_col.metric("Windows", int(anomaly["n_windows"]))
status_col.metric("Status", anomaly["status"])
st.caption(f"Stream **{anomaly['stream']}**, flagged {anomaly['start_ts']:%Y-%m-%d %H:%M:%S} to "
           f"{anomaly['end_ts']:%Y-%m-%d %H:%M:%S} UTC, peak at {anomaly['peak_ts']:%Y-%m-%d %H:%M:%S}; "
           f"model v{anomaly['model_version']}, run #{anomaly['run_id']}.")

streams = data.load(queries.streams)
channels = list(streams.loc[streams["id"] == anomaly["stream_id"], "channels"].iloc[0])
windows = data.load(queries.anomaly_windows, int(anomaly_id))

st.subheader("Why it was flagged")
if windows.empty:
    st.warning("No windows of this anomaly are stored, so its reconstruction cannot be shown.")
else:
    peak_window = int(windows["error"].idxmax())
    window_index = st.selectbox(
        "Window", windows.index.tolist(), index=peak_window, key=f"window_{anomaly_id}",
        format_func=lambda i: (f"{windows.at[i, 'start_ts']:%Y-%m-%d %H:%M} to "
                               f"{windows.at[i, 'end_ts']:%H:%M} · error {windows.at[i, 'error']:.4g}"
                               + (" · highest" if i == peak_window else "")),
    )
    window = windows.loc[window_index]
    values = data.load(queries.window_values, int(anomaly["stream_id"]), channels, window["start_ts"],
                       window["end_ts"])
    if window["reconstruction"] is None or values.empty:
        st.warning("This window has no stored reconstruction or no scored values.")
    else:
        actual = values[channels].to_numpy(dtype=float)
        reconstruction = np.asarray(window["reconstruction"], dtype=float)
        scales = data.load(queries.channel_scales, int(anomaly["stream_id"]), channels)
        error = explain.window_error(actual, reconstruction, scales)
        st.plotly_chart(
            charts.window_figure(values["ts"].tolist(), actual, reconstruction, error.per_timestep, channels),
            key="window_chart",
        )
        if len(channels) > 1:
            st.markdown("**Share of the error per channel** (each channel in units of its standard "
                        "deviation over the stream)")
            st.plotly_chart(charts.channel_share_figure(channels, error.channel_share), key="share_chart")

    st.subheader("What it looks like")
    clusters = sorted({int(c) for c in windows["cluster"].dropna()})
    st.write(f"Cluster: **{', '.join(map(str, clusters)) or 'none'}**. Nearest stored windows in "
             "embedding space (its own windows left out):")
    neighbours = data.load(queries.nearest_windows, int(anomaly_id), N_NEIGHBOURS)
    st.dataframe(neighbours, hide_index=True, key="neighbours",
                 column_config={"distance": st.column_config.NumberColumn(format="%.3f"),
                                "anomaly_id": st.column_config.NumberColumn("anomaly", format="%d")})

st.subheader("Verdict")
flash = st.session_state.pop(_FLASH_KEY, None)
if flash:
    st.success(flash)
if not pd.isna(anomaly["verdict_by"]):
    action = "Reopened" if anomaly["status"] == "open" else f"Marked {anomaly['status']}"
    st.caption(f"{action} by **{anomaly['verdict_by']}** on {anomaly['verdict_at']:%Y-%m-%d %H:%M:%S} UTC.",
               help="the latest verdict given in the dashboard")
analyst = signin.signed_in()
note_text = "" if pd.isna(anomaly["note"]) else anomaly["note"]
if analyst is None:
    if note_text:
        st.text(f"Note: {note_text}")
    st.caption("Read-only: sign in (sidebar) to confirm or dismiss.")
    st.stop()
note = st.text_area("Note", value=note_text, key=f"note_{anomaly_id}",
                    placeholder="What was it? (stored with the verdict)")
confirm_col, dismiss_col, reopen_col = st.columns(3)
verdict = None
if confirm_col.button("Confirm", type="primary", icon=":material/check:", key="confirm"):
    verdict = "confirmed"
if dismiss_col.button("Dismiss", icon=":material/close:", key="dismiss"):
    verdict = "dismissed"
if reopen_col.button("Reopen", key="reopen", disabled=anomaly["status"] == "open"):
    verdict = "open"
if verdict is not None:
    try:
        data.store_verdict(int(anomaly_id), verdict, note, analyst)
    except SQLAlchemyError as exc:
        reason = error_reason(exc)
        st.error(f"Could not store the verdict: {reason}")
    else:
        st.session_state[_FLASH_KEY] = f"Anomaly #{anomaly_id} marked {verdict} by {analyst}."
        st.rerun()
