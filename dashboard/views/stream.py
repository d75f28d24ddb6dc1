"""Stream view: the series with anomalies shaded above its error and threshold, over a chosen range.

The range is downsampled in the database (``queries.stream_series``), so however long the stream,
only a few thousand points per trace reach the browser; narrowing the range brings back full detail.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import charts, data, queries
from dashboard.widgets import linked_selectbox, open_page

# Slider positions across the range; finer steps would not be distinguishable on screen.
RANGE_STEPS = 1000

st.title("Stream")
streams = data.load(queries.streams)
name = linked_selectbox("Stream", streams["name"].tolist(), "stream")
stream = streams[streams["name"] == name].iloc[0]
stream_id, channels = int(stream["id"]), list(stream["channels"])

extent = data.load(queries.score_extent, stream_id)
if extent is None:
    st.info(f"Stream {name!r} has not been scored yet.")
    st.stop()
first, last = extent
if last > first:
    step = max((last - first) / RANGE_STEPS, timedelta(seconds=1))
    start, end = st.slider("Time range (UTC)", min_value=first, max_value=last, value=(first, last),
                           step=step, format="YYYY-MM-DD HH:mm", key=f"range_{stream_id}")
else:
    start, end = first, last

shown = channels
if len(channels) > 1:
    shown = st.multiselect("Channels", channels, default=channels, key=f"channels_{stream_id}") or channels

series = data.load(queries.stream_series, stream_id, channels, start, end)
events = data.load(queries.anomalies, stream_names=[name], start=start, end=end)
thresholds = data.load(queries.threshold_steps, stream_id, start, end)
st.plotly_chart(charts.stream_figure(series.points, shown, events, thresholds), key="stream_chart")
st.caption(f"{len(series.points):,} points drawn for {series.n_rows:,} scored timestamps; "
           "each drawn pair is the minimum and maximum of one time bucket, so spikes stay visible. "
           "Narrow the range for full detail.")

st.subheader(f"Anomalies in range ({len(events)})")
if events.empty:
    st.write("None flagged in this range.")
else:
    picked = st.dataframe(
        events[["id", "start_ts", "end_ts", "severity", "peak_error", "threshold", "model_version",
                "status", "note"]],
        hide_index=True, on_select="rerun", selection_mode="single-row", key="stream_events",
        column_config={"severity": st.column_config.NumberColumn(format="%.2f")},
    )
    if picked.selection.rows:
        open_page("views/anomaly.py", anomaly=int(events.iloc[picked.selection.rows[0]]["id"]))
