"""Streamlit's caches around ``dashboard.queries``: one engine per URL, query results per data version.

Every cached result is keyed by the query (a function of an engine, from ``queries`` or a module that
computes on their results, such as ``lookalike``), its arguments and ``queries.data_version`` (latest
run, verdict counts), read once per page run. A finished pipeline run therefore shows up on the next
refresh, while unchanged data is served from memory; the TTL bounds what another analyst's verdicts
can leave stale.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from sqlalchemy import Engine

from anomaly.storage.database import open_engine
from dashboard import queries

CACHE_TTL_S = 120
_DB_URL_KEY = "db_url"
_VERSION_KEY = "data_version"

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def engine_for(db_url: str) -> Engine:
    """The one engine (connection pool) per database URL; raises ``DatabaseError`` when unreachable."""
    return open_engine(db_url)


def connect(db_url: str) -> Engine:
    """Open ``db_url`` for this page run and read its data version; called once by ``app.py``."""
    engine = engine_for(db_url)
    st.session_state[_DB_URL_KEY] = db_url
    st.session_state[_VERSION_KEY] = queries.data_version(engine)
    return engine


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=512)
def _run_cached(module: str, query_name: str, db_url: str, version: tuple[Any, ...], args: tuple[Any, ...],
                kwargs: tuple[tuple[str, Any], ...]) -> Any:
    query = getattr(importlib.import_module(module), query_name)
    return query(engine_for(db_url), *args, **dict(kwargs))


def load(query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``query(engine, *args, **kwargs)``, cached for the current data version; ``query`` is a
    module-level function, cached by its module and name."""
    return _run_cached(query.__module__, query.__name__, st.session_state[_DB_URL_KEY],
                       st.session_state[_VERSION_KEY], args, tuple(sorted(kwargs.items())))


def clear() -> None:
    """Forget every cached result (the refresh button, and after a verdict is stored)."""
    _run_cached.clear()


def store_verdict(anomaly_id: int, status: str, note: str | None, analyst: str) -> None:
    """Write ``analyst``'s verdict, then drop cached results so every page shows it."""
    queries.set_anomaly_status(engine_for(st.session_state[_DB_URL_KEY]), anomaly_id, status, note,
                               analyst=analyst)
    clear()
