"""What the bot knows about each room: when it joined, its declared language and time zone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.storage.database import Database, iso, migration_set, utcnow

migrations = migration_set("rooms")


@migrations()
def m001_rooms(db: Any) -> None:
    db.execute(
        """CREATE TABLE rooms (
            room_id TEXT PRIMARY KEY,
            joined_at TEXT NOT NULL,
            language TEXT,
            timezone TEXT
        )"""
    )


@migrations()
def m002_greeted(db: Any) -> None:
    """When the bot told the room what it assumed; rooms joined before this are not greeted."""
    db.execute("ALTER TABLE rooms ADD COLUMN greeted_at TEXT")
    db.execute("UPDATE rooms SET greeted_at = joined_at")


@dataclass(frozen=True)
class RoomSettings:
    room_id: str
    language: str | None
    timezone: str | None


def is_known(db: Database, room_id: str) -> bool:
    return db.query_one("SELECT 1 AS x FROM rooms WHERE room_id = ?", (room_id,)) is not None


def remember(db: Database, room_id: str) -> None:
    db.execute(
        "INSERT OR IGNORE INTO rooms (room_id, joined_at) VALUES (?, ?)", (room_id, iso(utcnow()))
    )


def forget(db: Database, room_id: str) -> None:
    db.execute("DELETE FROM rooms WHERE room_id = ?", (room_id,))


def settings(db: Database, room_id: str) -> RoomSettings:
    row = db.query_one("SELECT language, timezone FROM rooms WHERE room_id = ?", (room_id,))
    if row is None:
        return RoomSettings(room_id, None, None)
    return RoomSettings(room_id, row["language"], row["timezone"])


def set_language(db: Database, room_id: str, language: str) -> None:
    remember(db, room_id)
    db.execute("UPDATE rooms SET language = ? WHERE room_id = ?", (language, room_id))


def set_timezone(db: Database, room_id: str, timezone: str) -> None:
    remember(db, room_id)
    db.execute("UPDATE rooms SET timezone = ? WHERE room_id = ?", (timezone, room_id))


def greeted(db: Database, room_id: str) -> bool:
    row = db.query_one("SELECT greeted_at FROM rooms WHERE room_id = ?", (room_id,))
    return row is not None and row["greeted_at"] is not None


def mark_greeted(db: Database, room_id: str) -> None:
    remember(db, room_id)
    db.execute(
        "UPDATE rooms SET greeted_at = ? WHERE room_id = ? AND greeted_at IS NULL",
        (iso(utcnow()), room_id),
    )


def all_room_ids(db: Database) -> list[str]:
    return [r["room_id"] for r in db.query("SELECT room_id FROM rooms ORDER BY joined_at")]
