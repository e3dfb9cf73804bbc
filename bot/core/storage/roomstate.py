"""The current state of the rooms the bot is in, kept with the sync token that reached it.

Without it, every start asks the homeserver for the full state of every room (power levels,
members, encryption), which for 1,000 rooms is seconds of the homeserver's work before the bot
can answer anyone. With it, a restart rebuilds the rooms from here and asks only for what
changed since the stored token.

The state is written in the transaction that stores the sync token (see ``EventIntake``), so
the two always match: a crash leaves both as they were, and the next sync brings the changes
again. A full-state answer replaces everything; an ordinary sync overwrites the events it
brings (the latest per type and state key); a room left loses its rows. If a sync was handled
while the database could not be written, the token moved on without the state: the rows are
then erased, marked incomplete, and the next start asks for the full state again. ``!forget me``
erases them too (they name everyone in the bot's rooms, with their names and powers).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from bot.core.storage import ledger
from bot.core.storage.database import Database, migration_set

migrations = migration_set("room_state")

COMPLETE_KEY = "room_state"  # in sync_state: "complete" when the rows match the stored token


@migrations()
def m001_room_state(db: Any) -> None:
    db.execute(
        """CREATE TABLE room_state (
            room_id TEXT NOT NULL,
            type TEXT NOT NULL,
            state_key TEXT NOT NULL,
            event TEXT NOT NULL,
            PRIMARY KEY (room_id, type, state_key)
        )"""
    )


StateByRoom = Mapping[str, list[dict[str, Any]]]


def _upsert(db: Database, state: StateByRoom) -> None:
    db.executemany(
        "INSERT INTO room_state (room_id, type, state_key, event) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (room_id, type, state_key) DO UPDATE SET event = excluded.event",
        [
            (room_id, str(event["type"]), str(event["state_key"]), json.dumps(event))
            for room_id, events in state.items()
            for event in events
        ],
    )


def replace_all(db: Database, state: StateByRoom) -> None:
    """A full-state answer: the rooms in it, and nothing else, as it says (in a transaction)."""
    with db.transaction():
        db.execute("DELETE FROM room_state")
        _upsert(db, state)
        ledger.set_state(db, COMPLETE_KEY, "complete")


def apply(db: Database, state: StateByRoom, left: Iterable[str]) -> None:
    """An ordinary sync's changes: later events replace earlier ones; left rooms go.

    Nothing is added while the rows are incomplete: they would be of no use until the next
    full-state answer replaces them all, and would hold people's names for nothing.
    """
    if not state and not left:
        return  # most syncs bring no state: nothing to read or write on the sync path
    with db.transaction():
        if ledger.get_state(db, COMPLETE_KEY) == "complete":
            _upsert(db, state)
        for room_id in left:
            db.execute("DELETE FROM room_state WHERE room_id = ?", (room_id,))


def invalidate(db: Database) -> None:
    """Erase the rows; the next start asks for the full state.

    When the token moved on without the state (a sync handled while the database was down),
    and when a member asks to be forgotten (the rows name everyone in the bot's rooms).
    """
    with db.transaction():
        db.execute("DELETE FROM room_state")
        ledger.set_state(db, COMPLETE_KEY, "incomplete")


def load(db: Database) -> dict[str, list[dict[str, Any]]] | None:
    """The stored state by room, or None when there is none that matches the stored token."""
    if ledger.get_state(db, COMPLETE_KEY) != "complete":
        return None
    state: dict[str, list[dict[str, Any]]] = {}
    for row in db.execute("SELECT room_id, event FROM room_state ORDER BY rowid"):
        state.setdefault(row[0], []).append(json.loads(row[1]))
    return state
