"""The one SQLite database: connection settings, the migration runner, small helpers.

The core and each feature's ``store.py`` declare their own ``sqlite_utils.Migrations`` set
(append-only, one function per step); the composition root hands every set to
:meth:`Database.migrate`. The sets are independent, so two features never fight over a
migration number.

The file may be encrypted at rest with SQLCipher (``storage.encrypted``, the key from the
environment): the connection then comes from ``sqlcipher3`` and speaks the same DB-API, its
errors re-raised as :mod:`sqlite3`'s so the rest of the code handles one kind.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils import Migrations

log = logging.getLogger(__name__)

# While another process holds the write lock, a write gives up after this long instead of
# holding the event loop for the whole busy timeout, until a write succeeds again.
CONTENDED_BUSY_MS = 50


def migration_set(name: str) -> Migrations:
    """The migration set of one storage domain (its name is recorded in every database)."""
    return Migrations(f"liaison.{name}")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Timestamps are stored as ISO 8601 text in UTC, which sorts correctly."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class DatabaseKeyError(Exception):
    """The database is encrypted and the key is missing or wrong (or SQLCipher is absent)."""


def connect(path: str, key: str | None = None) -> Any:
    """A DB-API connection to ``path``: plain SQLite, or SQLCipher when ``key`` is given."""
    if key is None:
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        from sqlcipher3 import dbapi2 as sqlcipher
    except ImportError:
        raise DatabaseKeyError(
            "storage.encrypted is on but SQLCipher is not installed: pip install 'liaison[sqlcipher]'"
        ) from None
    raw = sqlcipher.connect(path, isolation_level=None, check_same_thread=False)
    conn = _Translating(raw, sqlcipher)
    conn.execute("PRAGMA key = " + _quote(key))
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError:
        conn.close()
        raise DatabaseKeyError(
            f"{path}: cannot be opened with this key (wrong key, or not encrypted with SQLCipher)"
        ) from None
    return conn


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Translating:
    """A SQLCipher connection whose errors are :mod:`sqlite3`'s (same names, same meaning)."""

    def __init__(self, conn: Any, module: Any) -> None:
        self._conn = conn
        self._module = module

    def _translate(self, exc: Exception) -> Exception:
        kind = getattr(sqlite3, type(exc).__name__, sqlite3.DatabaseError)
        if not (isinstance(kind, type) and issubclass(kind, sqlite3.Error)):
            kind = sqlite3.DatabaseError
        return kind(*exc.args)

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except self._module.Error as exc:
            raise self._translate(exc) from exc

    def execute(self, sql: str, params: Any = ()) -> Any:
        return _TranslatingCursor(self._call(self._conn.execute, sql, params), self)

    def executemany(self, sql: str, params: Any) -> Any:
        return _TranslatingCursor(self._call(self._conn.executemany, sql, params), self)

    def executescript(self, sql: str) -> Any:
        return _TranslatingCursor(self._call(self._conn.executescript, sql), self)

    def cursor(self) -> Any:
        return _TranslatingCursor(self._call(self._conn.cursor), self)

    def commit(self) -> None:
        self._call(self._conn.commit)

    def rollback(self) -> None:
        self._call(self._conn.rollback)

    def backup(self, target: Any, **kwargs: Any) -> None:
        target = target._conn if isinstance(target, _Translating) else target
        self._call(self._conn.backup, target, **kwargs)

    def __enter__(self) -> _Translating:
        self._call(self._conn.__enter__)
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._call(self._conn.__exit__, *exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class _TranslatingCursor:
    def __init__(self, cursor: Any, conn: _Translating) -> None:
        self._cursor = cursor
        self._conn = conn

    def fetchone(self) -> Any:
        return self._conn._call(self._cursor.fetchone)

    def fetchall(self) -> Any:
        return self._conn._call(self._cursor.fetchall)

    def fetchmany(self, *args: Any) -> Any:
        return self._conn._call(self._cursor.fetchmany, *args)

    def execute(self, sql: str, params: Any = ()) -> Any:
        self._conn._call(self._cursor.execute, sql, params)
        return self

    def executemany(self, sql: str, params: Any) -> Any:
        self._conn._call(self._cursor.executemany, sql, params)
        return self

    def __iter__(self) -> Iterator[Any]:
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class Database:
    """SQLite in WAL mode with foreign keys, a busy timeout and secure deletion.

    Queries are small and local, so they run on the event loop thread; WAL keeps readers and
    the backup command from blocking writers. ``secure_delete`` overwrites erased rows with
    zeros, and :meth:`checkpoint` empties the write-ahead log, so what a member asked to be
    forgotten does not linger in free pages or old log frames.
    """

    def __init__(
        self, path: Path | str, busy_timeout_ms: int = 5000, *, key: str | None = None
    ) -> None:
        self.path = str(path)
        self.key = key
        self.busy_timeout_ms = int(busy_timeout_ms)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = connect(self.path, key)
        self._busy_ms = 0
        self._write_trouble = False
        self._on_writable: list[Callable[[], None]] = []
        self.conn = conn
        self._set_busy(self.busy_timeout_ms)
        if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
            # only a new file can take this without a full VACUUM (see make_incremental)
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")
        self.db = sqlite_utils.Database(conn)

    @property
    def encrypted(self) -> bool:
        return self.key is not None

    def migrate(self, sets: Sequence[Migrations]) -> list[str]:
        """Apply every pending migration of ``sets``; return the names applied."""
        applied: list[str] = []
        for migrations in sets:
            pending = [m.name for m in migrations.pending(self.db)]
            migrations.apply(self.db)
            applied.extend(f"{migrations.name}:{name}" for name in pending)
        if applied:
            log.info("applied %d migration(s)", len(applied))
        return applied

    def schema_version(self) -> int:
        """How many migrations have been applied in all (the recorded schema version)."""
        table = self.db.table("_sqlite_migrations")
        return table.count if table.exists() else 0

    def pending_migrations(self, sets: Sequence[Migrations]) -> list[str]:
        return [f"{m.name}:{p.name}" for m in sets for p in m.pending(self.db)]

    # ---- lock contention ----------------------------------------------------------------

    @property
    def contended(self) -> bool:
        """Whether another process held the write lock at our last attempt to write."""
        return self._busy_ms != self.busy_timeout_ms

    def _set_busy(self, ms: int) -> None:
        if ms != self._busy_ms:
            self.conn.execute(f"PRAGMA busy_timeout = {int(ms)}")
            self._busy_ms = ms

    def when_writable(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (soon, on the event loop) each time writes work again after failing."""
        self._on_writable.append(callback)

    def _noted(self, exc: sqlite3.Error) -> None:
        self._write_trouble = True
        if isinstance(exc, sqlite3.OperationalError) and _is_lock_error(exc):
            if not self.contended:
                log.warning("the database is locked by another process; writes wait briefly")
            self._set_busy(min(CONTENDED_BUSY_MS, self.busy_timeout_ms))

    def _wrote(self) -> None:
        if self.contended:
            log.warning("the database lock is free again")
            self._set_busy(self.busy_timeout_ms)
        if self._write_trouble:
            self._write_trouble = False
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            for callback in self._on_writable:
                if loop is not None:
                    loop.call_soon(callback)
                else:
                    callback()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate transaction: all of the block is written, or none of it.

        Inside another transaction it simply joins it, so use cases can be combined atomically.
        """
        if self.conn.in_transaction:
            yield self.conn
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._noted(exc)
            raise
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._noted(exc)
                raise
            self._wrote()

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        try:
            cursor = self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            self._noted(exc)
            raise
        return cursor  # type: ignore[no-any-return]

    def executemany(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            self._noted(exc)
            raise

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        cursor = self.execute(sql, params)
        columns = [c[0] for c in cursor.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def query_one(self, sql: str, params: tuple | dict = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    # ---- integrity, erasure, copies -------------------------------------------------------

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def quick_check(self) -> list[str]:
        """``PRAGMA quick_check`` on a connection of its own (safe to run in a thread).

        The problems found, or an empty list; a file too damaged to open is a problem too.
        """
        if self.path == ":memory:":
            return [] if self.integrity_ok() else ["integrity check failed"]
        try:
            conn = connect(self.path, self.key)
        except (sqlite3.Error, DatabaseKeyError) as exc:
            return [f"{type(exc).__name__}: {exc}"]
        try:
            conn.execute("PRAGMA busy_timeout = 1000")
            rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(20)").fetchall()]
        except sqlite3.Error as exc:
            return [f"{type(exc).__name__}: {exc}"]
        finally:
            conn.close()
        return [] if rows == ["ok"] else rows

    def checkpoint(self) -> bool:
        """Copy the write-ahead log into the file and empty it; whether it fully succeeded."""
        if self.path == ":memory:":
            return True
        try:
            busy, _log, _copied = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:
            log.warning("could not checkpoint the database: %s", exc)
            return False
        if busy:
            log.warning("the write-ahead log could not be emptied (a reader is active)")
        return not busy

    # ---- giving space back ------------------------------------------------------------------

    @property
    def incremental(self) -> bool:
        """Whether freed pages can be given back to the filesystem a few at a time."""
        return int(self.conn.execute("PRAGMA auto_vacuum").fetchone()[0]) == 2

    def make_incremental(self) -> bool:
        """Switch a file made before incremental vacuum to it: one full ``VACUUM``.

        SQLite changes ``auto_vacuum`` on an existing file only by rewriting it, which takes
        the write lock for as long as the copy lasts and needs free disk space the size of the
        file; so this runs once, at start, before the bot syncs. Whether the file is (now)
        incremental; a failure (disk full, locked) leaves the file as it was, to try again at
        the next start.
        """
        if self.path == ":memory:" or self.incremental:
            return self.incremental
        before = self.size_bytes()
        try:
            self.conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            self.conn.execute("VACUUM")
        except sqlite3.Error as exc:
            log.warning("the database file stays without incremental vacuum for now: %s", exc)
            return False
        self.checkpoint()
        log.info(
            "the database file now gives freed space back (%d KiB before, %d KiB after)",
            before // 1024,
            self.size_bytes() // 1024,
        )
        return self.incremental

    def free_pages(self) -> int:
        return int(self.conn.execute("PRAGMA freelist_count").fetchone()[0])

    def incremental_vacuum(self, pages: int) -> int:
        """Give up to ``pages`` free pages back to the filesystem; how many went.

        The file shrinks at the next checkpoint (the truncation goes through the log).
        """
        if not self.incremental:
            return 0
        before = self.free_pages()
        try:
            # executescript steps the pragma to its end (execute frees a single page)
            self.conn.executescript(f"PRAGMA incremental_vacuum({int(pages)})")
        except sqlite3.Error as exc:
            self._noted(exc)
            log.warning("incremental vacuum stopped: %s", exc)
            return 0
        return before - self.free_pages()

    def size_bytes(self) -> int:
        """The file and its write-ahead log, as they take space on disk now."""
        if self.path == ":memory:":
            return 0
        return sum(
            Path(self.path + suffix).stat().st_size
            for suffix in ("", "-wal")
            if Path(self.path + suffix).exists()
        )

    def backup_to(self, target: Path | str) -> None:
        """A consistent online copy through SQLite's backup API (encrypted with the same key)."""
        dest = connect(str(target), self.key)
        try:
            self.conn.backup(dest)
        finally:
            dest.close()

    def close(self) -> None:
        self.conn.close()


def _is_lock_error(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text
