"""Anomalies: every flag, filtered by stream, time, severity and status, sortable and downloadable."""

from __future__ import annotations

from datetime import UTC, datetime, time

import streamlit as st

from anomaly.storage.schema import ANOMALY_STATUSES
from dashboard import data, queries
from dashboard.widgets import open_page

SORTABLE = {"severity": "Severity", "start_ts": "Start", "peak_error": "Peak error", "stream": "Stream",
            "id": "Id"}

st.title("Anomalies")
everything = data.load(queries.anomalies)
if everything.empty:
    st.info("No anomalies have been flagged yet.")
    st.stop()

stream_col, status_col, severity_col = st.columns([2, 1, 1])
stream_names = sorted(everything["stream"].unique())
chosen_streams = stream_col.multiselect("Streams", stream_names, placeholder="all streams",
                                        key="filter_streams")
statuses = status_col.multiselect("Status", list(ANOMALY_STATUSES), default=list(ANOMALY_STATUSES),
                                  key="filter_status")
min_severity = severity_col.number_input("Minimum severity", min_value=0.0, value=0.0, step=0.5,
                                         key="filter_severity", help="peak error / threshold")
first_day = everything["start_ts"].min().date()
last_day = everything["end_ts"].max().date()
date_col, sort_col, order_col = st.columns([2, 1, 1])
days = date_col.date_input("Overlapping days (UTC)", value=(first_day, last_day), min_value=first_day,
                           max_value=last_day, key="filter_days")
sort_by = sort_col.selectbox("Sort by", list(SORTABLE), format_func=SORTABLE.get, key="sort_by")
descending = order_col.toggle("Descending", value=True, key="sort_descending")

start = datetime.combine(days[0], time.min, UTC) if len(days) > 0 else None
end = datetime.combine(days[-1], time.max, UTC) if len(days) > 0 else None
table = data.load(queries.anomalies, stream_names=chosen_streams or None, start=start, end=end,
                  min_severity=min_severity or None, statuses=statuses)
table = table.sort_values(sort_by, ascending=not descending, kind="stable").reset_index(drop=True)

st.caption(f"{len(table)} of {len(everything)} anomalies. Select a row to open it.")
picked = st.dataframe(
    table.drop(columns=["stream_id"]),
    hide_index=True, on_select="rerun", selection_mode="single-row", key="anomalies_table",
    column_config={
        "id": st.column_config.NumberColumn("Id", format="#%d"),
        "start_ts": st.column_config.DatetimeColumn("Start (UTC)"),
        "end_ts": st.column_config.DatetimeColumn("End (UTC)"),
        "peak_ts": st.column_config.DatetimeColumn("Peak (UTC)"),
        "severity": st.column_config.NumberColumn("Severity", format="%.2f"),
        "note": st.column_config.TextColumn("Note", width="large"),
    },
)
st.download_button("Download CSV", table.to_csv(index=False).encode(), file_name="anomalies.csv",
                   mime="text/csv", icon=":material/download:", key="download")
if picked.selection.rows:
    open_page("views/anomaly.py", anomaly=int(table.iloc[picked.selection.rows[0]]["id"]))
