"""Turning source cells into timestamps and numbers, remembering which cells could not be read.

Files are read as text so that a bad cell can be quoted exactly; Parquet and SQL columns may already be
typed. Each parser accepts either and returns the parsed array together with a mask of bad cells, so
that the caller decides whether a bad cell fails one stream or the whole source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MISSING_TOKENS = frozenset({"", "NA", "NaN", "nan", "null", "NULL", "None"})
"""Cell texts that mean "no value" (after stripping spaces); anything else must be a number."""


@dataclass(frozen=True)
class ParsedValues:
    """One value column: ``values`` float64 with NaN where missing; ``present`` marks non-missing cells
    (bad ones included, so that a column holding only bad text still counts as used); ``bad`` marks cells
    that are neither missing nor a finite number."""

    values: np.ndarray
    present: np.ndarray
    bad: np.ndarray


@dataclass(frozen=True)
class ParsedTimestamps:
    """One timestamp column: ``values`` is ``datetime64[ns, UTC]`` with NaT where ``bad``."""

    values: pd.DatetimeIndex
    bad: np.ndarray
    epoch: bool


def _as_text(column: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The cells as stripped text, and the mask of missing ones (null or a missing token)."""
    text = column.astype(str).str.strip()
    missing = column.isna().to_numpy() | text.isin(MISSING_TOKENS).to_numpy()
    return text, missing


def parse_values(column: pd.Series) -> ParsedValues:
    """Parse a value column (text or numeric) into float64; infinities count as bad cells."""
    if pd.api.types.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(values)
    else:
        text, missing = _as_text(column)
        numbers = pd.to_numeric(text.where(~missing), errors="coerce")
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~missing
    bad = present & ~np.isfinite(values)
    values = np.where(bad, np.nan, values)
    return ParsedValues(values=values, present=present, bad=bad)


def value_problem(cell: object) -> str:
    """The message for a bad value cell, quoting it as the source had it."""
    number = pd.to_numeric(pd.Series([str(cell).strip()]), errors="coerce").iloc[0]
    kind = "non-finite" if np.isinf(number) else "non-numeric"
    return f"{kind} value {str(cell)!r}"


def parse_timestamps(column: pd.Series) -> ParsedTimestamps:
    """Parse a timestamp column into UTC nanoseconds.

    Accepted: datetime columns (naive ones taken as UTC), numbers (epoch seconds), and text that is
    either ISO 8601 (with or without an offset; naive taken as UTC) or epoch seconds. A text column holds
    epoch seconds when its first non-missing cell is a number; from then on every cell must be one, so that
    a single bad cell is reported rather than a whole column of "not ISO 8601".
    """
    epoch = False
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        parsed = pd.DatetimeIndex(column).tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(column.dtype):
        parsed = pd.DatetimeIndex(column).tz_localize("UTC")
    elif pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        epoch = True
        parsed = pd.DatetimeIndex(pd.to_datetime(column, unit="s", utc=True, errors="coerce"))
    else:
        text, missing = _as_text(column)
        kept = text.where(~missing)
        first = kept.dropna()
        epoch = not first.empty and pd.notna(pd.to_numeric(first.iloc[:1], errors="coerce").iloc[0])
        if epoch:
            seconds = pd.to_numeric(kept, errors="coerce")
            parsed = pd.DatetimeIndex(pd.to_datetime(seconds, unit="s", utc=True, errors="coerce"))
        else:
            parsed = pd.DatetimeIndex(pd.to_datetime(kept, utc=True, format="ISO8601", errors="coerce"))
    parsed = parsed.as_unit("ns")
    return ParsedTimestamps(values=parsed, bad=np.asarray(parsed.isna()), epoch=epoch)


def timestamp_problem(cell: object, *, epoch: bool) -> str:
    """The message for a bad timestamp cell, saying what the column was expected to hold."""
    if pd.isna(cell) or str(cell).strip() in MISSING_TOKENS:
        return "missing timestamp"
    expected = "epoch seconds, as the rest of the column" if epoch else "ISO 8601 or epoch seconds"
    return f"invalid timestamp {str(cell)!r} (expected {expected})"
