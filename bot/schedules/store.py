"""Scheduled announcements: the schedules, their explicit target rooms, and every firing.

A schedule's ``next_due`` is the one moment APScheduler is asked to fire. A firing row is
written *before* anything is sent (status ``sending`` with its transaction key), so a crash
between sending and recording is finished on restart with the same transaction ids.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.i18n import N_
from bot.core.storage.database import Database, from_iso, iso, migration_set, utcnow
from bot.core.time.recurrence import Recurrence

migrations = migration_set("schedules")

# schedule status
DRAFT = "draft"
ACTIVE = "active"
PAUSED = "paused"
DONE = "done"
REMOVED = "removed"

# targets
TARGET_ROOM = "room"
TARGET_GROUP = "group"
TARGET_ROOMS = "rooms"

# firing status
SENDING = "sending"
SENT = "sent"
MISSED = "missed"
BLOCKED = "blocked"
INTERRUPTED = "interrupted"


@migrations()
def m001_schedules(db: Any) -> None:
    db.execute(
        """CREATE TABLE schedules (
            id INTEGER PRIMARY KEY,
            room_id TEXT NOT NULL,
            author TEXT NOT NULL,
            steward TEXT,
            command_event_id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('once', 'rrule', 'cron')),
            expression TEXT,
            tz TEXT NOT NULL,
            anchor TEXT NOT NULL,
            when_text TEXT NOT NULL,
            text TEXT NOT NULL,
            language TEXT NOT NULL,
            target TEXT NOT NULL CHECK (target IN ('room', 'group', 'rooms')),
            notify_room INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            pause_reason TEXT,
            next_due TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX schedules_room ON schedules (room_id, status)")
    db.execute(
        """CREATE TABLE schedule_rooms (
            schedule_id INTEGER NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
            room_id TEXT NOT NULL,
            PRIMARY KEY (schedule_id, room_id)
        )"""
    )
    db.execute(
        """CREATE TABLE schedule_firings (
            id INTEGER PRIMARY KEY,
            schedule_id INTEGER NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
            due_at TEXT NOT NULL,
            txn_key TEXT NOT NULL,
            status TEXT NOT NULL,
            detail TEXT,
            recorded_at TEXT NOT NULL,
            finished_at TEXT,
            UNIQUE (schedule_id, due_at)
        )"""
    )
    db.execute(
        """CREATE TABLE schedule_posts (
            firing_id INTEGER NOT NULL REFERENCES schedule_firings(id) ON DELETE CASCADE,
            room_id TEXT NOT NULL,
            event_id TEXT,
            PRIMARY KEY (firing_id, room_id)
        )"""
    )
    db.execute(
        """CREATE TABLE schedule_room_settings (
            room_id TEXT PRIMARY KEY,
            approval INTEGER NOT NULL DEFAULT 0
        )"""
    )


@dataclass(frozen=True)
class Schedule:
    id: int
    room_id: str
    author: str
    steward: str | None  # whose power is checked at each firing (author, or the approver)
    command_event_id: str
    kind: str
    expression: str | None
    tz: str
    anchor: datetime
    when_text: str
    text: str
    language: str
    target: str
    notify_room: bool
    status: str
    pause_reason: str | None
    next_due: datetime | None
    rooms: tuple[str, ...]
    created_at: datetime

    @property
    def recurrence(self) -> Recurrence | None:
        if self.kind == "once" or self.expression is None:
            return None
        return Recurrence(self.kind, self.expression, self.tz, self.anchor)

    def next_after(self, moment: datetime) -> datetime | None:
        """The firing after ``moment``: None for a one-off, or when the rule has ended."""
        rule = self.recurrence
        return rule.next_after(moment) if rule is not None else None

    def upcoming(self, now: datetime, count: int = 3) -> list[datetime]:
        """The next ``count`` firings from ``next_due`` on (what a confirmation shows)."""
        if self.next_due is None:
            return []
        times = [self.next_due]
        rule = self.recurrence
        if rule is not None:
            times += rule.next_times(self.next_due, count - 1)
        return times[:count]


@dataclass(frozen=True)
class Firing:
    id: int
    schedule_id: int
    due_at: datetime
    txn_key: str
    status: str
    detail: str | None
    recorded_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class NewSchedule:
    room_id: str
    author: str
    steward: str | None
    command_event_id: str
    when: datetime | Recurrence
    when_text: str
    tz: str
    text: str
    language: str
    target: str
    rooms: tuple[str, ...]
    notify_room: bool
    status: str
    next_due: datetime | None


def _schedule(db: Database, row: dict[str, Any]) -> Schedule:
    rooms = tuple(
        r["room_id"]
        for r in db.query(
            "SELECT room_id FROM schedule_rooms WHERE schedule_id = ? ORDER BY rowid", (row["id"],)
        )
    )
    return Schedule(
        id=row["id"],
        room_id=row["room_id"],
        author=row["author"],
        steward=row["steward"],
        command_event_id=row["command_event_id"],
        kind=row["kind"],
        expression=row["expression"],
        tz=row["tz"],
        anchor=from_iso(row["anchor"]),
        when_text=row["when_text"],
        text=row["text"],
        language=row["language"],
        target=row["target"],
        notify_room=bool(row["notify_room"]),
        status=row["status"],
        pause_reason=row["pause_reason"],
        next_due=from_iso(row["next_due"]) if row["next_due"] else None,
        rooms=rooms,
        created_at=from_iso(row["created_at"]),
    )


def _firing(row: dict[str, Any]) -> Firing:
    return Firing(
        id=row["id"],
        schedule_id=row["schedule_id"],
        due_at=from_iso(row["due_at"]),
        txn_key=row["txn_key"],
        status=row["status"],
        detail=row["detail"],
        recorded_at=from_iso(row["recorded_at"]),
        finished_at=from_iso(row["finished_at"]) if row["finished_at"] else None,
    )


def _when_columns(when: datetime | Recurrence) -> tuple[str, str | None, str]:
    if isinstance(when, Recurrence):
        return when.kind, when.expression, iso(when.anchor)
    return "once", None, iso(when)


def create(db: Database, new: NewSchedule) -> tuple[Schedule, bool]:
    """Insert a schedule; a replayed command (same event id) returns the existing one.

    The boolean says whether this call created it.
    """
    kind, expression, anchor = _when_columns(new.when)
    now = iso(utcnow())
    try:
        with db.transaction() as conn:
            cursor = conn.execute(
                """INSERT INTO schedules (room_id, author, steward, command_event_id, kind,
                    expression, tz, anchor, when_text, text, language, target, notify_room,
                    status, next_due, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    new.room_id,
                    new.author,
                    new.steward,
                    new.command_event_id,
                    kind,
                    expression,
                    new.tz,
                    anchor,
                    new.when_text,
                    new.text,
                    new.language,
                    new.target,
                    int(new.notify_room),
                    new.status,
                    iso(new.next_due) if new.next_due else None,
                    now,
                    now,
                ),
            )
            schedule_id = int(cursor.lastrowid or 0)
            for room_id in dict.fromkeys(new.rooms):
                conn.execute(
                    "INSERT INTO schedule_rooms (schedule_id, room_id) VALUES (?, ?)",
                    (schedule_id, room_id),
                )
    except sqlite3.IntegrityError:
        existing = by_command_event(db, new.command_event_id)
        if existing is None:
            raise
        return existing, False
    created = get(db, schedule_id)
    assert created is not None
    return created, True


def by_command_event(db: Database, event_id: str) -> Schedule | None:
    row = db.query_one("SELECT * FROM schedules WHERE command_event_id = ?", (event_id,))
    return _schedule(db, row) if row else None


def get(db: Database, schedule_id: int) -> Schedule | None:
    row = db.query_one("SELECT * FROM schedules WHERE id = ?", (schedule_id,))
    return _schedule(db, row) if row else None


def in_room(db: Database, room_id: str) -> list[Schedule]:
    """Schedules created in ``room_id`` that were not removed, oldest first."""
    rows = db.query(
        "SELECT * FROM schedules WHERE room_id = ? AND status != ? ORDER BY id",
        (room_id, REMOVED),
    )
    return [_schedule(db, row) for row in rows]


def active(db: Database) -> list[Schedule]:
    rows = db.query(
        "SELECT * FROM schedules WHERE status = ? AND next_due IS NOT NULL ORDER BY next_due",
        (ACTIVE,),
    )
    return [_schedule(db, row) for row in rows]


def set_status(
    db: Database,
    schedule_id: int,
    status: str,
    *,
    reason: str | None = None,
    next_due: datetime | None = None,
    steward: str | None = None,
) -> None:
    """Change the status; ``next_due`` and ``steward`` are only written when given."""
    sets = ["status = ?", "pause_reason = ?", "updated_at = ?"]
    params: list[Any] = [status, reason, iso(utcnow())]
    if next_due is not None:
        sets.append("next_due = ?")
        params.append(iso(next_due))
    if steward is not None:
        sets.append("steward = ?")
        params.append(steward)
    params.append(schedule_id)
    db.execute(f"UPDATE schedules SET {', '.join(sets)} WHERE id = ?", tuple(params))


def set_next_due(db: Database, schedule_id: int, next_due: datetime | None) -> None:
    db.execute(
        "UPDATE schedules SET next_due = ?, updated_at = ? WHERE id = ?",
        (iso(next_due) if next_due else None, iso(utcnow()), schedule_id),
    )


def set_when(
    db: Database,
    schedule_id: int,
    when: datetime | Recurrence,
    when_text: str,
    tz: str,
    next_due: datetime | None,
) -> None:
    kind, expression, anchor = _when_columns(when)
    db.execute(
        """UPDATE schedules SET kind = ?, expression = ?, anchor = ?, when_text = ?, tz = ?,
            next_due = ?, updated_at = ? WHERE id = ?""",
        (
            kind,
            expression,
            anchor,
            when_text,
            tz,
            iso(next_due) if next_due else None,
            iso(utcnow()),
            schedule_id,
        ),
    )


def set_text(db: Database, schedule_id: int, text: str, notify_room: bool) -> None:
    db.execute(
        "UPDATE schedules SET text = ?, notify_room = ?, updated_at = ? WHERE id = ?",
        (text, int(notify_room), iso(utcnow()), schedule_id),
    )


# --- firings ----------------------------------------------------------------------------------


def firing_for(db: Database, schedule_id: int, due_at: datetime) -> Firing | None:
    row = db.query_one(
        "SELECT * FROM schedule_firings WHERE schedule_id = ? AND due_at = ?",
        (schedule_id, iso(due_at)),
    )
    return _firing(row) if row else None


def record_intent(db: Database, schedule_id: int, due_at: datetime, txn_key: str) -> Firing:
    """Write the firing before sending; an existing row for the same moment is returned as is."""
    db.execute(
        """INSERT OR IGNORE INTO schedule_firings
            (schedule_id, due_at, txn_key, status, recorded_at) VALUES (?, ?, ?, ?, ?)""",
        (schedule_id, iso(due_at), txn_key, SENDING, iso(utcnow())),
    )
    firing = firing_for(db, schedule_id, due_at)
    assert firing is not None
    return firing


def record_outcome(
    db: Database,
    schedule_id: int,
    due_at: datetime,
    status: str,
    *,
    detail: str | None = None,
    txn_key: str = "",
) -> None:
    """A firing that did not send (missed, blocked, interrupted), or a sent one's final state."""
    now = iso(utcnow())
    db.execute(
        """INSERT INTO schedule_firings
            (schedule_id, due_at, txn_key, status, detail, recorded_at, finished_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (schedule_id, due_at) DO UPDATE SET status = excluded.status,
                detail = excluded.detail, finished_at = excluded.finished_at""",
        (schedule_id, iso(due_at), txn_key, status, detail, now, now),
    )


def finish_firing(
    db: Database,
    firing: Firing,
    posts: dict[str, str | None],
    *,
    detail: str | None,
    next_due: datetime | None,
) -> None:
    """Mark a firing sent and move the schedule on, in one transaction."""
    now = iso(utcnow())
    with db.transaction() as conn:
        conn.execute(
            "UPDATE schedule_firings SET status = ?, detail = ?, finished_at = ? WHERE id = ?",
            (SENT, detail, now, firing.id),
        )
        for room_id, event_id in posts.items():
            conn.execute(
                """INSERT OR REPLACE INTO schedule_posts (firing_id, room_id, event_id)
                    VALUES (?, ?, ?)""",
                (firing.id, room_id, event_id),
            )
        if next_due is None:
            conn.execute(
                "UPDATE schedules SET status = ?, next_due = NULL, updated_at = ? "
                "WHERE id = ? AND status = ?",
                (DONE, now, firing.schedule_id, ACTIVE),
            )
        else:
            conn.execute(
                "UPDATE schedules SET next_due = ?, updated_at = ? WHERE id = ?",
                (iso(next_due), now, firing.schedule_id),
            )


def pending_intents(db: Database, schedule_id: int) -> list[Firing]:
    rows = db.query(
        "SELECT * FROM schedule_firings WHERE schedule_id = ? AND status = ? ORDER BY due_at",
        (schedule_id, SENDING),
    )
    return [_firing(row) for row in rows]


def recent_firings(db: Database, schedule_id: int, limit: int = 5) -> list[Firing]:
    rows = db.query(
        "SELECT * FROM schedule_firings WHERE schedule_id = ? ORDER BY due_at DESC LIMIT ?",
        (schedule_id, limit),
    )
    return [_firing(row) for row in rows]


def posts(db: Database, firing_id: int) -> dict[str, str | None]:
    rows = db.query(
        "SELECT room_id, event_id FROM schedule_posts WHERE firing_id = ?", (firing_id,)
    )
    return {r["room_id"]: r["event_id"] for r in rows}


# --- room settings ----------------------------------------------------------------------------


def approval_required(db: Database, room_id: str) -> bool:
    row = db.query_one("SELECT approval FROM schedule_room_settings WHERE room_id = ?", (room_id,))
    return bool(row and row["approval"])


def set_approval(db: Database, room_id: str, required: bool) -> None:
    db.execute(
        """INSERT INTO schedule_room_settings (room_id, approval) VALUES (?, ?)
            ON CONFLICT (room_id) DO UPDATE SET approval = excluded.approval""",
        (room_id, int(required)),
    )


# --- data rights: !forget me and the operator's export ----------------------------------------

FORGET_KEEPS = (
    N_(
        "Scheduled posts you wrote stay in their rooms without your name; those you answered for are paused until a room admin resumes them."
    ),
)


def forget_user(db: Database, user_id: str) -> dict[str, int]:
    """Erase a member from the schedules, atomically.

    Drafts nobody approved and posts already removed are theirs alone: deleted. A schedule
    keeps posting only while someone answers for it (the steward's power is checked at each
    firing), so the active ones they answered for are paused; a room admin takes one over
    with ``schedule resume``. Elsewhere only their name goes.
    """
    now = iso(utcnow())
    with db.transaction():
        deleted = db.execute(
            "DELETE FROM schedules WHERE author = ? AND status IN (?, ?)",
            (user_id, DRAFT, REMOVED),
        ).rowcount
        named = db.query_one(
            "SELECT count(*) AS n FROM schedules WHERE author = ? OR steward = ?",
            (user_id, user_id),
        )
        paused = db.execute(
            """UPDATE schedules SET status = ?, pause_reason = 'forgotten', updated_at = ?
               WHERE status = ? AND (steward = ? OR (steward IS NULL AND author = ?))""",
            (PAUSED, now, ACTIVE, user_id, user_id),
        ).rowcount
        db.execute(
            "UPDATE schedules SET steward = NULL, updated_at = ? WHERE steward = ?",
            (now, user_id),
        )
        db.execute(
            """UPDATE schedules SET author = '', command_event_id = 'forgotten:' || id,
                  updated_at = ? WHERE author = ?""",
            (now, user_id),
        )
        # a blocked firing's detail names the steward who had lost their power
        db.execute(
            "UPDATE schedule_firings SET detail = replace(detail, ?, '…') "
            "WHERE instr(detail, ?) > 0",
            (user_id, user_id),
        )
    return {
        N_("your draft and removed scheduled posts"): deleted,
        N_("your name on scheduled posts"): int(named["n"]) if named else 0,
        N_("scheduled posts paused until a room admin resumes them"): paused,
    }


def export_rows(db: Database, viewers: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    """Schedules (with their target rooms) and their firings; removed ones are left out."""
    del viewers
    schedules = db.query(
        """SELECT id, room_id, author, steward, kind, expression, tz, anchor, when_text, text,
                  language, target, notify_room, status, pause_reason, next_due, created_at,
                  updated_at
           FROM schedules WHERE status != ? ORDER BY id""",
        (REMOVED,),
    )
    targets: dict[int, list[str]] = {}
    for row in db.query("SELECT schedule_id, room_id FROM schedule_rooms ORDER BY rowid"):
        targets.setdefault(row["schedule_id"], []).append(row["room_id"])
    for row in schedules:
        row["notify_room"] = bool(row["notify_room"])
        row["rooms"] = targets.get(row["id"], [])
    firings = db.query(
        """SELECT f.schedule_id, f.due_at, f.status, f.detail, f.finished_at
           FROM schedule_firings f JOIN schedules s ON s.id = f.schedule_id
           WHERE s.status != ? ORDER BY f.schedule_id, f.due_at""",
        (REMOVED,),
    )
    return {"schedules": schedules, "schedules.firings": firings}
