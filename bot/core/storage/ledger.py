"""Sync token and the processed-event ledger: every event is handled exactly once.

Events that matter are written to the inbox together with the sync token that delivered them,
in one transaction. A crash after that replays them from the inbox at the next start; the
event id primary key stops a second delivery from counting twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.storage.database import Database, iso, migration_set, utcnow

migrations = migration_set("inbox")


@migrations()
def m001_inbox(db: Any) -> None:
    db.execute("CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute(
        """CREATE TABLE inbox (
            event_id TEXT PRIMARY KEY,
            room_id TEXT NOT NULL,
            source TEXT,
            received_at TEXT NOT NULL,
            done_at TEXT
        )"""
    )
    db.execute("CREATE INDEX inbox_pending ON inbox (done_at, received_at)")


@dataclass(frozen=True)
class InboxEvent:
    room_id: str
    source: dict[str, Any]


def get_state(db: Database, key: str) -> str | None:
    row = db.query_one("SELECT value FROM sync_state WHERE key = ?", (key,))
    return row["value"] if row else None


def set_state(db: Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def accept_batch(db: Database, events: Iterable[InboxEvent], next_batch: str) -> list[InboxEvent]:
    """Record a sync's events and its token atomically; return only the events never seen."""
    fresh: list[InboxEvent] = []
    now = iso(utcnow())
    with db.transaction():
        for event in events:
            cursor = db.execute(
                "INSERT OR IGNORE INTO inbox (event_id, room_id, source, received_at) "
                "VALUES (?, ?, ?, ?)",
                (event.source["event_id"], event.room_id, json.dumps(event.source), now),
            )
            if cursor.rowcount:
                fresh.append(event)
        set_state(db, "next_batch", next_batch)
    return fresh


def mark_done(db: Database, event_id: str) -> None:
    """The event was handled: forget its content, keep its id against redelivery."""
    db.execute(
        "UPDATE inbox SET done_at = ?, source = NULL WHERE event_id = ?", (iso(utcnow()), event_id)
    )


def pending(db: Database) -> list[InboxEvent]:
    """Events accepted but not handled when the bot last stopped, oldest first."""
    rows = db.query(
        "SELECT room_id, source FROM inbox WHERE done_at IS NULL ORDER BY received_at, rowid"
    )
    return [InboxEvent(r["room_id"], json.loads(r["source"])) for r in rows if r["source"]]


def prune(db: Database, older_than: timedelta = timedelta(days=7)) -> int:
    cutoff = iso(utcnow() - older_than)
    return db.execute(
        "DELETE FROM inbox WHERE done_at IS NOT NULL AND done_at < ?", (cutoff,)
    ).rowcount


# ---- events waiting for their room key ------------------------------------------------------


@migrations()
def m002_undecrypted(db: Any) -> None:
    db.execute(
        """CREATE TABLE undecrypted (
            event_id TEXT PRIMARY KEY,
            room_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            source TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            received_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX undecrypted_session ON undecrypted (session_id)")


@dataclass(frozen=True)
class Undecrypted:
    """An event kept, still encrypted, until its room key arrives (or it is too old)."""

    event_id: str
    room_id: str
    session_id: str
    source: dict[str, Any]
    sent_at: datetime


def park(db: Database, room_id: str, source: dict[str, Any], sent_at: datetime) -> None:
    """Keep an undecryptable event and count it handled in the inbox, in one transaction."""
    event_id = str(source["event_id"])
    session_id = str((source.get("content") or {}).get("session_id") or "")
    now = iso(utcnow())
    with db.transaction():
        db.execute(
            "INSERT OR IGNORE INTO undecrypted "
            "(event_id, room_id, session_id, source, sent_at, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (event_id, room_id, session_id, json.dumps(source), iso(sent_at), now),
        )
        db.execute(
            "UPDATE inbox SET done_at = ?, source = NULL WHERE event_id = ?", (now, event_id)
        )


def undecrypted(db: Database, sessions: Iterable[str] | None = None) -> list[Undecrypted]:
    """Events waiting for a key, oldest first; only those of ``sessions`` when given."""
    rows = db.query("SELECT * FROM undecrypted ORDER BY sent_at, rowid")
    wanted = None if sessions is None else set(sessions)
    return [
        Undecrypted(
            r["event_id"],
            r["room_id"],
            r["session_id"],
            json.loads(r["source"]),
            datetime.fromisoformat(r["sent_at"]),
        )
        for r in rows
        if wanted is None or r["session_id"] in wanted
    ]


def decrypted(db: Database, event_id: str, room_id: str, source: dict[str, Any]) -> bool:
    """The key came: the event goes back to the inbox, decrypted, to be handled once.

    False if another pass already did it (the row was gone).
    """
    now = iso(utcnow())
    with db.transaction():
        gone = db.execute("DELETE FROM undecrypted WHERE event_id = ?", (event_id,)).rowcount
        if not gone:
            return False
        db.execute(
            "INSERT INTO inbox (event_id, room_id, source, received_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (event_id) DO UPDATE SET source = excluded.source, done_at = NULL, "
            "received_at = excluded.received_at",
            (event_id, room_id, json.dumps(source), now),
        )
    return True


def drop_undecrypted(db: Database, event_id: str) -> None:
    db.execute("DELETE FROM undecrypted WHERE event_id = ?", (event_id,))
