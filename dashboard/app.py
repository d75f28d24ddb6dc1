"""Entry point of ``streamlit run dashboard/app.py``: connect, explain an empty database, offer sign-in,
route pages.

The database URL comes from ``ANOMALY_DB_URL`` (set by ``anomaly dashboard --db``) or defaults to
``sqlite:///anomaly.db``. Every page needs the database, so problems with it are reported here, once,
as a message rather than a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# `streamlit run` puts this file's folder on sys.path, not the project's; make `dashboard` and
# `anomaly` importable from a source checkout too (a no-op when the package is installed).
_PROJECT_ROOT = str(Path(__file__).resolve().parents[1])
if _PROJECT_ROOT not in sys.path:
    sys.path.insert(0, _PROJECT_ROOT)

import streamlit as st  # noqa: E402
from sqlalchemy.exc import SQLAlchemyError  # noqa: E402

from anomaly.config import DEFAULT_DB_URL  # noqa: E402
from anomaly.errors import ConfigError, DatabaseError  # noqa: E402
from anomaly.storage.database import describe_url, error_reason  # noqa: E402
from dashboard import data, signin  # noqa: E402
from dashboard.access import AccessConfig  # noqa: E402
from dashboard.queries import DatabaseState, database_state, sqlite_file_missing  # noqa: E402

FILL_COMMAND = "anomaly run pipelines/sample.toml"

PAGES = [
    st.Page("views/overview.py", title="Overview", icon=":material/dashboard:", url_path="overview",
            default=True),
    st.Page("views/anomalies.py", title="Anomalies", icon=":material/table_rows:", url_path="anomalies"),
    st.Page("views/stream.py", title="Stream", icon=":material/show_chart:", url_path="stream"),
    st.Page("views/anomaly.py", title="Anomaly detail", icon=":material/search:", url_path="anomaly"),
    st.Page("views/embeddings.py", title="Embeddings", icon=":material/scatter_plot:",
            url_path="embeddings"),
]


def _show_empty(db_url: str, reason: str) -> None:
    st.title("Anomaly dashboard")
    st.info(f"The database {describe_url(db_url)} {reason}. Fill it by running the pipeline:")
    st.code(FILL_COMMAND, language="bash")


def _database_ready(db_url: str) -> bool:
    """Connect and tell the user, instead of showing pages, when there is nothing (or no way) to read."""
    if sqlite_file_missing(db_url):
        _show_empty(db_url, "does not exist yet")
        return False
    try:
        engine = data.engine_for(db_url)
        state = database_state(engine)
        if state is DatabaseState.READY:
            data.connect(db_url)
            return True
    except DatabaseError as exc:
        st.error(f"Cannot open the database: {exc}")
        return False
    except SQLAlchemyError as exc:
        reason = error_reason(exc)
        st.error(f"Cannot read the database {describe_url(db_url)}: {reason}")
        return False
    _show_empty(db_url, "has no tables yet" if state is DatabaseState.NO_SCHEMA else "holds no runs yet")
    return False


def _access() -> AccessConfig:
    """The configured sign-in methods; a broken configuration is reported and leaves the app read-only."""
    try:
        return signin.access()
    except ConfigError as exc:
        st.error(f"Sign-in is misconfigured, so the dashboard is read-only: {exc}")
        return AccessConfig()


def main() -> None:
    st.set_page_config(page_title="Anomaly dashboard", page_icon=":material/monitoring:", layout="wide")
    db_url = os.environ.get("ANOMALY_DB_URL") or DEFAULT_DB_URL
    if not _database_ready(db_url):
        return
    with st.sidebar:
        st.caption(describe_url(db_url))
        if st.button("Refresh", icon=":material/refresh:", help="Reload everything from the database"):
            data.clear()
            data.connect(db_url)
        signin.sidebar(_access())
    st.navigation(PAGES).run()


main()
