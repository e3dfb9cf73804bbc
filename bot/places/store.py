"""The directory of self-organised places (Mujawara and others) that gatherings can point at."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from bot.core.i18n import N_
from bot.core.storage.database import Database, iso, migration_set, utcnow

migrations = migration_set("places")


@migrations()
def m001_places(db: Any) -> None:
    db.execute(
        """CREATE TABLE places (
            id TEXT PRIMARY KEY,
            command_event_id TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            city TEXT NOT NULL DEFAULT '',
            country TEXT NOT NULL DEFAULT '',
            languages TEXT NOT NULL DEFAULT '',
            capacity INTEGER,
            accessibility TEXT NOT NULL DEFAULT '',
            contact TEXT NOT NULL DEFAULT '',
            creator TEXT NOT NULL,
            room_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            removed INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute(
        """CREATE TABLE place_rooms (
            place_id TEXT NOT NULL REFERENCES places(id),
            room_id TEXT NOT NULL,
            PRIMARY KEY (place_id, room_id)
        )"""
    )


@migrations()
def m002_publication(db: Any) -> None:
    """A public address, and publishing on the public agenda (NULL: not public)."""
    db.execute("ALTER TABLE places ADD COLUMN address TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE places ADD COLUMN published_at TEXT")


@dataclass(frozen=True)
class Place:
    id: str
    name: str
    city: str
    country: str
    languages: str
    capacity: int | None
    accessibility: str
    contact: str
    creator: str
    room_id: str
    created_at: str
    address: str = ""  # shown on the public pages once the place is published
    published_at: str | None = None  # None: not on the public pages

    @property
    def published(self) -> bool:
        return self.published_at is not None


EDITABLE = (
    "name",
    "city",
    "country",
    "address",
    "languages",
    "capacity",
    "accessibility",
    "contact",
)
_COLUMNS = (
    "id, name, city, country, languages, capacity, accessibility, contact, creator, room_id, "
    "created_at, address, published_at"
)


def _place(row: dict[str, Any]) -> Place:
    return Place(**row)


def add(
    db: Database,
    place_id: str,
    command_event_id: str,
    *,
    name: str,
    creator: str,
    room_id: str,
    city: str = "",
    country: str = "",
    languages: str = "",
    capacity: int | None = None,
    accessibility: str = "",
    contact: str = "",
    address: str = "",
    published: bool = False,
) -> Place | None:
    """Insert a place; None when ``place_id`` is taken. A replayed command returns the first."""
    existing = by_command(db, command_event_id)
    if existing is not None:
        return existing
    try:
        with db.transaction() as conn:
            conn.execute(
                """INSERT INTO places (id, command_event_id, name, city, country, languages,
                   capacity, accessibility, contact, creator, room_id, created_at, address,
                   published_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    place_id,
                    command_event_id,
                    name,
                    city,
                    country,
                    languages,
                    capacity,
                    accessibility,
                    contact,
                    creator,
                    room_id,
                    iso(utcnow()),
                    address,
                    iso(utcnow()) if published else None,
                ),
            )
            conn.execute(
                "INSERT INTO place_rooms (place_id, room_id) VALUES (?, ?)", (place_id, room_id)
            )
    except sqlite3.IntegrityError:
        return by_command(db, command_event_id)
    return get(db, place_id)


def by_command(db: Database, command_event_id: str) -> Place | None:
    """The place a command made, even if removed since: a replay must find it, not retry."""
    row = db.query_one(
        f"SELECT {_COLUMNS} FROM places WHERE command_event_id = ?", (command_event_id,)
    )
    return _place(row) if row else None


def exists(db: Database, place_id: str) -> bool:
    return db.query_one("SELECT 1 AS x FROM places WHERE id = ?", (place_id,)) is not None


def get(db: Database, place_id: str) -> Place | None:
    row = db.query_one(
        f"SELECT {_COLUMNS} FROM places WHERE id = ? AND removed = 0", (place_id.lower(),)
    )
    return _place(row) if row else None


def listing(db: Database, country: str | None = None) -> list[Place]:
    if country:
        rows = db.query(
            f"""SELECT {_COLUMNS} FROM places WHERE removed = 0 AND lower(country) = lower(?)
                ORDER BY country, city, name""",
            (country,),
        )
    else:
        rows = db.query(
            f"SELECT {_COLUMNS} FROM places WHERE removed = 0 ORDER BY country, city, name"
        )
    return [_place(r) for r in rows]


def registered_in(db: Database, place_id: str, room_id: str) -> bool:
    row = db.query_one(
        "SELECT 1 AS x FROM place_rooms WHERE place_id = ? AND room_id = ?", (place_id, room_id)
    )
    return row is not None


def rooms_of(db: Database, place_id: str) -> list[str]:
    """The rooms the place was registered in."""
    rows = db.query(
        "SELECT room_id FROM place_rooms WHERE place_id = ? ORDER BY room_id", (place_id,)
    )
    return [r["room_id"] for r in rows]


def update(db: Database, place_id: str, field: str, value: str | int | None) -> None:
    if field not in EDITABLE:
        raise ValueError(f"not an editable field: {field}")
    db.execute(f"UPDATE places SET {field} = ? WHERE id = ?", (value, place_id))


def set_published(db: Database, place_id: str, published: bool) -> None:
    db.execute(
        "UPDATE places SET published_at = ? WHERE id = ?",
        (iso(utcnow()) if published else None, place_id),
    )


def published_registered_in(db: Database, room_ids: list[str]) -> list[Place]:
    """Published places registered in any of ``room_ids``."""
    if not room_ids:
        return []
    marks = ", ".join("?" for _ in room_ids)
    rows = db.query(
        f"""SELECT {_COLUMNS} FROM places p
            WHERE p.removed = 0 AND p.published_at IS NOT NULL AND EXISTS (
                SELECT 1 FROM place_rooms r WHERE r.place_id = p.id AND r.room_id IN ({marks}))
            ORDER BY p.country, p.city, p.name""",
        tuple(room_ids),
    )
    return [_place(r) for r in rows]


def remove(db: Database, place_id: str) -> None:
    """Hidden, not deleted: gatherings that named the place keep their text."""
    db.execute("UPDATE places SET removed = 1 WHERE id = ?", (place_id,))


# --- data rights: !forget me and the operator's export ----------------------------------------

FORGET_KEEPS = (
    N_(
        "Places you registered stay in the directory, with the contact you gave for them, without your name: a bot admin can change or remove them."
    ),
)


def forget_user(db: Database, user_id: str) -> dict[str, int]:
    """Drop a member's name from the places they registered; the places stay for everyone."""
    with db.transaction():
        count = db.execute(
            "UPDATE places SET creator = '', command_event_id = 'forgotten:' || id "
            "WHERE creator = ?",
            (user_id,),
        ).rowcount
    return {N_("your name on places you registered"): count}


def export_rows(db: Database, viewers: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    """The directory without contacts: a place's contact is shown only in the rooms where it
    was registered, so it does not go into a file either."""
    del viewers
    rows = db.query(
        """SELECT id, name, city, country, address, languages, capacity, accessibility, creator,
                  room_id, created_at, published_at FROM places WHERE removed = 0
           ORDER BY country, city, name"""
    )
    rooms = db.query(
        "SELECT r.place_id, r.room_id FROM place_rooms r JOIN places p ON p.id = r.place_id "
        "WHERE p.removed = 0 ORDER BY r.place_id, r.room_id"
    )
    registered: dict[str, list[str]] = {}
    for row in rooms:
        registered.setdefault(row["place_id"], []).append(row["room_id"])
    for row in rows:
        row["rooms"] = registered.get(row["id"], [])
    return {"places": rows}
