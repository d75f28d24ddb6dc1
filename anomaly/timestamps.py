"""One rule for times: every timestamp the product compares or stores is aware UTC, and a naive one is
taken as UTC (input files, labels, SQLite's aggregates, Parquet statistics alike).

Its own module, importing pandas only, so that the dashboard can use it without loading the data layer.
"""

from __future__ import annotations

import pandas as pd


def as_utc(value: object) -> pd.Timestamp:
    """``value`` (a timestamp, datetime or ISO 8601 text) as an aware UTC timestamp; a naive one is UTC."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
