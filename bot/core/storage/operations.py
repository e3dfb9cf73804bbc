"""Operations bookkeeping: the health probe's write test.

Its first migration also created ``forget_requests``, which the forget feature
(``bot/forget/store.py``) owns since; migrations are history and are never moved.
"""

from __future__ import annotations

from typing import Any

from bot.core.storage.database import Database, iso, migration_set, utcnow

migrations = migration_set("operations")


@migrations()
def m001_operations(db: Any) -> None:
    db.execute("CREATE TABLE health (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at TEXT)")
    db.execute(
        """CREATE TABLE forget_requests (
            user_id TEXT PRIMARY KEY,
            room_id TEXT NOT NULL,
            requested_at TEXT NOT NULL
        )"""
    )


def touch_health(db: Database) -> None:
    """One tiny write: proves the database file accepts writes right now.

    A single statement commits by itself; no explicit transaction, so a probe arriving while
    another write is open never fails for that reason.
    """
    db.execute(
        "INSERT INTO health (id, checked_at) VALUES (1, ?) "
        "ON CONFLICT(id) DO UPDATE SET checked_at = excluded.checked_at",
        (iso(utcnow()),),
    )
