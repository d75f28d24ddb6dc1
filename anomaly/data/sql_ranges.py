"""WHERE clauses that make a SQL source return only the rows a ``ReadRanges`` wants.

The timestamp column is compared with the time in its own terms, judged from one of its values: a
database datetime with a datetime, epoch seconds with a number, ISO 8601 text as text. Each clause
returns a superset of what it stands for (text compares a day early, starts are floored to the hour),
and the loader cuts every stream at its exact start after parsing, so what a run sees does not depend
on how the database compares.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Literal

import pandas as pd
from sqlalchemy import ColumnElement, and_

from anomaly.data.ranges import ReadRanges, newest_first_buckets

TimestampKind = Literal["datetime", "naive_datetime", "epoch", "iso_text"]

BUCKET = pd.Timedelta(hours=1)
"""Streams whose starts fall in the same hour share one clause (see ``newest_first_buckets``)."""
TEXT_MARGIN = pd.Timedelta(days=1)
"""How much earlier ISO 8601 text is compared: as text, a time with a UTC offset reads up to a day
away from its UTC time, and a 'T' and a space between date and time compare differently."""
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def timestamp_kind(value: object) -> TimestampKind | None:
    """How the timestamp column compares, judged by one of its values; None when it cannot be compared
    with a time (text holding epoch seconds, which sorts as text, not as numbers)."""
    if isinstance(value, datetime):
        return "datetime" if value.tzinfo is not None else "naive_datetime"
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return "epoch"
    if isinstance(value, str) and ISO_DATE.match(value):
        return "iso_text"
    return None


def bound(start: pd.Timestamp, kind: TimestampKind) -> object:
    """``start`` (UTC) as a value the column compares with, at or before it."""
    start = pd.Timestamp(start).tz_convert("UTC")
    if kind == "datetime":
        return start.to_pydatetime()
    if kind == "naive_datetime":
        return start.tz_localize(None).to_pydatetime()
    if kind == "epoch":
        return start.timestamp()
    return (start - TEXT_MARGIN).strftime("%Y-%m-%d %H:%M:%S")


def range_filters(
    ranges: ReadRanges,
    stream: ColumnElement,
    timestamp: ColumnElement,
    kind: TimestampKind | None,
    *,
    names_compare: bool,
) -> list[ColumnElement[bool]] | None:
    """One WHERE clause per statement that together return (at least) the rows ``ranges`` wants, or
    None when only reading everything does.

    Each group of ``since`` streams (``newest_first_buckets``) is read from its start; the newest group
    takes, with ``ranges.others``, every stream's rows from its start, which is how streams the run does
    not know yet are found. ``names_compare`` says whether the stream column holds text that compares
    with the names (otherwise only the time filter is used).
    """
    if not ranges.narrows:
        return None
    wanted = sorted(set(ranges.since) | ranges.whole)
    if kind is None or not ranges.since:
        if ranges.others or not names_compare:
            return None
        return [stream.in_(wanted)]
    buckets = newest_first_buckets(ranges.since, BUCKET)
    if not names_compare:
        if ranges.whole:
            return None
        return [timestamp >= bound(buckets[-1][0], kind)]
    clauses = []
    for place, (start, names) in enumerate(buckets):
        recent = timestamp >= bound(start, kind)
        if place == 0 and ranges.others:
            elsewhere = sorted({name for _, older in buckets[1:] for name in older} | ranges.whole)
            clauses.append(and_(recent, stream.not_in(elsewhere)) if elsewhere else recent)
        else:
            clauses.append(and_(stream.in_(names), recent))
    if ranges.whole:
        clauses.append(stream.in_(sorted(ranges.whole)))
    return clauses
