"""Progress for long runs: a live bar on a terminal, one log line per item otherwise (cron, CI)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

Item = TypeVar("Item")
log = logging.getLogger("anomaly")


@contextmanager
def progress_over(
    items: Sequence[Item], description: str, label: Callable[[Item], str]
) -> Iterator[Iterator[Item]]:
    """Yield an iterator over ``items`` that reports progress; ``label(item)`` names the current item."""
    if sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=False,
        ) as bar:
            task = bar.add_task(description, total=len(items))

            def advance() -> Iterator[Item]:
                for item in items:
                    bar.update(task, description=f"{description}: {label(item)}")
                    yield item
                    bar.advance(task)

            yield advance()
    else:

        def logged() -> Iterator[Item]:
            for position, item in enumerate(items, start=1):
                log.info("%s %d/%d: %s", description, position, len(items), label(item))
                yield item

        yield logged()
