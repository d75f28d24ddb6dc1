"""Exception types a user can act on.

Every error the library raises on purpose is an ``AnomalyError``; the CLI prints its message as one
line and exits non-zero. Messages name what is wrong and where (file, column, row) so that a user can
fix the input without reading a traceback.
"""

from __future__ import annotations


class AnomalyError(Exception):
    """Base class of every error meant for the user rather than the developer."""


class ConfigError(AnomalyError):
    """The pipeline configuration (TOML file or flags) is invalid."""


class DataError(AnomalyError):
    """Input data is unusable; says where: file, column and row (1-based, the header being row 1)."""

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
        stream: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.column = column
        self.row = row
        self.stream = stream
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.stream is not None:
            where.append(f"stream {self.stream!r}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        return f"{', '.join(where)}: {self.problem}" if where else self.problem


class DatabaseError(AnomalyError):
    """The database cannot be reached or rejected a write; the run left it as it was."""


class ModelError(AnomalyError):
    """A model artifact is missing, corrupt, or does not match the stream it is used for."""


class LockedError(AnomalyError):
    """Another run holds the lock on the work this run wanted to do."""


class ExecutorError(AnomalyError):
    """The executor that should run the per-stream work (a process pool, a Dask cluster) is unusable."""
