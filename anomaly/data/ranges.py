"""Which rows of a source a run needs: what lets a scheduled run over a long history read little.

A stream whose model only has to score a few new rows needs the source from a little before them on
(``since``); a stream to be trained needs all of it (``whole``); streams the run does not know yet
(``others``) need all of theirs. SQL and Parquet sources push this down (``anomaly.data.sql_ranges``,
``anomaly.data.parquet_ranges``); CSV files are read whole and cut after parsing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class ReadRanges:
    """The rows a run wants: those at or after ``since[name]`` of each stream in ``since``, every row
    of each stream in ``whole``, and, with ``others``, every row of any other stream.

    Sources that filter find the other streams by their rows at or after the latest ``since`` (a
    stream with none has no new data for the run), then read those streams whole.
    """

    since: Mapping[str, pd.Timestamp] = field(default_factory=dict)
    whole: frozenset[str] = frozenset()
    others: bool = True

    @classmethod
    def of_whole(cls, names: Iterable[str]) -> ReadRanges:
        """Every row of the streams ``names``, and nothing of any other."""
        return cls(whole=frozenset(names), others=False)

    @property
    def narrows(self) -> bool:
        """Whether anything of the source is left out (otherwise it is read whole)."""
        return bool(self.since) or not self.others

    def wants(self, name: str) -> bool:
        """Whether stream ``name`` is wanted at all."""
        return self.others or name in self.since or name in self.whole

    def start_of(self, name: str) -> pd.Timestamp | None:
        """The first time wanted of stream ``name``; None when all of it is."""
        return self.since.get(name)

    def partially_read(self, names: Iterable[str]) -> list[str]:
        """Of the streams ``names`` found by a filtered read, those still to be read whole: the ones
        the filter found only by their recent rows (neither in ``since`` nor in ``whole``)."""
        if not self.others or not self.since:
            return []
        return sorted(name for name in names if name not in self.since and name not in self.whole)


def newest_first_buckets(
    since: Mapping[str, pd.Timestamp], bucket: pd.Timedelta
) -> list[tuple[pd.Timestamp, list[str]]]:
    """``since``'s streams grouped by their start floored to ``bucket``, newest group first, each with
    that floored start: one filter per group rather than one per stream, since a fleet scheduled
    together has nearly the same start everywhere, and a stalled stream its own."""
    groups: dict[pd.Timestamp, list[str]] = {}
    for name, start in since.items():
        groups.setdefault(pd.Timestamp(start).floor(bucket), []).append(name)
    return [(start, sorted(groups[start])) for start in sorted(groups, reverse=True)]
