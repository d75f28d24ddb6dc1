"""Selectors shared by the pages, remembered in the URL so a view can be linked to and reloaded."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import streamlit as st

T = TypeVar("T")


def linked_selectbox(label: str, options: Sequence[T], param: str,
                     format_func: Callable[[T], str] = str) -> T:
    """A selectbox whose choice is kept in the query parameter ``param`` (e.g. ``?anomaly=12``).

    Opening a page with the parameter set (a link from another page) preselects that option; an
    unknown value falls back to the first option.
    """
    wanted = st.query_params.get(param)
    keys = [str(option) for option in options]
    index = keys.index(wanted) if wanted in keys else 0
    choice = st.selectbox(label, options, index=index, format_func=format_func, key=f"select_{param}")
    st.query_params[param] = str(choice)
    return choice


def open_page(page: str, **params: object) -> None:
    """Switch to another page (path relative to ``app.py``) with its selection preset."""
    st.switch_page(page, query_params={name: str(value) for name, value in params.items()})
