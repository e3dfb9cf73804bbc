"""The one SQLite database: connection settings, the migration runner, small helpers.

The core and each feature's ``store.py`` declare their own ``sqlite_utils.Migrations`` set
(append-only, one function per step); the composition root hands every set to
:meth:`Database.migrate`. The sets are independent, so two features never fight over a
migration number.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils import Migrations

log = logging.getLogger(__name__)


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


class Database:
    """SQLite in WAL mode with foreign keys and a busy timeout.

    Queries are small and local, so they run on the event loop thread; WAL keeps readers and
    the backup command from blocking writers.
    """

    def __init__(self, path: Path | str, busy_timeout_ms: int = 5000) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        self.conn = conn
        self.db = sqlite_utils.Database(conn)

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

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate transaction: all of the block is written, or none of it.

        Inside another transaction it simply joins it, so use cases can be combined atomically.
        """
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        columns = [c[0] for c in cursor.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def query_one(self, sql: str, params: tuple | dict = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def backup_to(self, target: Path | str) -> None:
        """A consistent online copy through SQLite's backup API."""
        dest = sqlite3.connect(str(target))
        try:
            self.conn.backup(dest)
        finally:
            dest.close()

    def close(self) -> None:
        self.conn.close()
