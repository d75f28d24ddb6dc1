"""Named locks shared by every run on one database: they keep two runs off the same stream and tell a
live run from one whose process died.

Both implementations are released by the operating system or the database server when the holding
process dies, so a run killed with SIGKILL never leaves a stream locked and its run lock shows it dead:

- PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a dedicated autocommit connection,
  keyed by a stable 64-bit hash of the name; the server drops it when that connection closes. The
  connection sits idle, not "idle in transaction", so a long training holds no snapshot.
- SQLite: ``flock`` on one file per name in a ``<database file>.locks`` directory next to the database;
  the kernel drops it when the file is closed. ``flock`` locks belong to the open file, not the
  process, so two threads of one process exclude each other too (``fcntl``/``lockf`` locks would not).

A private in-memory SQLite database cannot be shared, so its locks always succeed; other databases
get the same no-op lock with a warning.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from anomaly.errors import DatabaseError
from anomaly.storage.database import error_reason

log = logging.getLogger("anomaly")


class NamedLock(Protocol):
    """An exclusive lock on a name, shared by every process using the same database."""

    def acquire(self, *, wait: bool = False) -> bool:
        """Take the lock; without ``wait``, return False at once when someone else holds it."""

    def release(self, *, forget: bool = False) -> None:
        """Give the lock up; ``forget`` also removes what the lock left behind (its file)."""


def stream_lock_name(stream: str) -> str:
    """The lock a run holds while it works on ``stream``."""
    return f"stream:{stream}"


def run_lock_name(run_id: int) -> str:
    """The lock a run holds for as long as it lives; free while its row says ``running`` means dead."""
    return f"run:{run_id}"


def named_lock(engine: Engine, name: str) -> NamedLock:
    """The lock called ``name`` on ``engine``'s database (not yet taken)."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, name)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            return NoLock()
        return FileLock(Path(f"{database}.locks"), name)
    _warn_unlocked(engine.dialect.name)
    return NoLock()


@contextlib.contextmanager
def try_locked(engine: Engine, name: str) -> Iterator[bool]:
    """Hold lock ``name`` for the block if it is free; yield whether it was taken."""
    lock = named_lock(engine, name)
    if not lock.acquire():
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


@contextlib.contextmanager
def locked(engine: Engine, name: str) -> Iterator[None]:
    """Hold lock ``name`` for the block, waiting for it as long as another process holds it."""
    lock = named_lock(engine, name)
    lock.acquire(wait=True)
    try:
        yield
    finally:
        lock.release()


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (Python's ``hash`` changes between processes)."""
    digest = hashlib.blake2b(f"anomaly:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AdvisoryLock:
    """A PostgreSQL session advisory lock held on its own connection."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.key = advisory_key(name)
        self._connection: Connection | None = None

    def acquire(self, *, wait: bool = False) -> bool:
        """Take the lock on a new autocommit connection, which then stays open until ``release``."""
        try:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            raise DatabaseError(f"cannot lock {self.name!r}: {error_reason(exc)}") from None
        try:
            if wait:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": self.key})
                taken = True
            else:
                taken = connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                ).scalar_one()
        except SQLAlchemyError as exc:
            connection.invalidate()
            raise DatabaseError(f"cannot lock {self.name!r}: {error_reason(exc)}") from None
        if not taken:
            connection.close()
            return False
        self._connection = connection
        return True

    def release(self, *, forget: bool = False) -> None:
        """Unlock and close; when unlocking fails the connection is discarded, which unlocks too."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        except SQLAlchemyError:
            log.debug("unlocking %s failed; closing its connection instead", self.name, exc_info=True)
            connection.invalidate()
        connection.close()


class FileLock:
    """An ``flock`` on ``<directory>/<hash of the name>.lock``."""

    def __init__(self, directory: Path, name: str) -> None:
        self.name = name
        self.path = directory / f"{hashlib.sha256(name.encode()).hexdigest()[:24]}.lock"
        self._fd: int | None = None

    def acquire(self, *, wait: bool = False) -> bool:
        """Open (creating) the lock file and lock it; the file stays open until ``release``."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DatabaseError(f"cannot create the lock file {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError as exc:
            os.close(fd)
            raise DatabaseError(f"cannot lock {self.path}: {exc.strerror}") from None
        self._fd = fd
        return True

    def release(self, *, forget: bool = False) -> None:
        """Unlock by closing; ``forget`` first removes the file (only for names never locked again,
        such as a finished run's: a waiter could otherwise lock the removed file while a newcomer
        locks a new one)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if forget:
            with contextlib.suppress(OSError):
                self.path.unlink()
        os.close(fd)


class NoLock:
    """Always free: for databases only one process can see, or that have no lock implementation."""

    def acquire(self, *, wait: bool = False) -> bool:
        """Succeed at once."""
        return True

    def release(self, *, forget: bool = False) -> None:
        """Nothing to give up."""


@functools.cache
def _warn_unlocked(dialect: str) -> None:
    log.warning("%s databases have no run locks: do not start two runs on the same database at once", dialect)
