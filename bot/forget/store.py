"""Pending ``!forget me`` requests, awaiting their confirmation.

The table was created by the core's ``operations`` migration set (see
``bot/core/storage/operations.py``); this feature adds no migration of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.storage.database import Database, from_iso, iso


@dataclass(frozen=True)
class ForgetRequest:
    user_id: str
    room_id: str
    requested_at: datetime


def request_forget(db: Database, user_id: str, room_id: str, when: datetime) -> None:
    """Record (or renew) a member's request to be forgotten, awaiting confirmation."""
    db.execute(
        "INSERT INTO forget_requests (user_id, room_id, requested_at) VALUES (?, ?, ?) "
        "ON CONFLICT(user_id) DO UPDATE SET room_id = excluded.room_id, "
        "requested_at = excluded.requested_at",
        (user_id, room_id, iso(when)),
    )


def forget_request(db: Database, user_id: str) -> ForgetRequest | None:
    row = db.query_one(
        "SELECT user_id, room_id, requested_at FROM forget_requests WHERE user_id = ?",
        (user_id,),
    )
    if row is None:
        return None
    return ForgetRequest(row["user_id"], row["room_id"], from_iso(row["requested_at"]))


def clear_forget_request(db: Database, user_id: str) -> None:
    db.execute("DELETE FROM forget_requests WHERE user_id = ?", (user_id,))


def prune_forget_requests(db: Database, before: datetime) -> int:
    """Unconfirmed requests older than the confirmation window hold a user id for nothing."""
    return db.execute("DELETE FROM forget_requests WHERE requested_at < ?", (iso(before),)).rowcount
