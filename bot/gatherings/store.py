"""Gatherings: the events themselves, their posted announcements, RSVPs, reminders, feeds."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.core.i18n import N_
from bot.core.storage.database import Database, from_iso, iso, migration_set, utcnow

migrations = migration_set("gatherings")


@migrations()
def m001_gatherings(db: Any) -> None:
    db.execute(
        """CREATE TABLE gatherings (
            id TEXT PRIMARY KEY,
            command_event_id TEXT NOT NULL UNIQUE,
            room_id TEXT NOT NULL,
            creator TEXT NOT NULL,
            lang TEXT NOT NULL,
            title TEXT NOT NULL,
            starts_at TEXT NOT NULL,
            ends_at TEXT,
            tz TEXT NOT NULL,
            place TEXT NOT NULL DEFAULT '',
            place_id TEXT,
            link TEXT NOT NULL DEFAULT '',
            city TEXT NOT NULL DEFAULT '',
            country TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT 'other',
            capacity INTEGER,
            languages TEXT NOT NULL DEFAULT '',
            reminder_leads TEXT,
            rrule TEXT,
            rrule_anchor TEXT,
            status TEXT NOT NULL DEFAULT 'scheduled',
            revision INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX gatherings_starts ON gatherings (starts_at)")
    db.execute(
        """CREATE TABLE gathering_posts (
            gathering_id TEXT NOT NULL REFERENCES gatherings(id),
            room_id TEXT NOT NULL,
            event_id TEXT NOT NULL UNIQUE,
            lang TEXT NOT NULL,
            posted_at TEXT NOT NULL,
            PRIMARY KEY (gathering_id, room_id)
        )"""
    )
    db.execute(
        """CREATE TABLE gathering_rsvps (
            gathering_id TEXT NOT NULL REFERENCES gatherings(id),
            user_id TEXT NOT NULL,
            room_id TEXT NOT NULL,
            answer TEXT NOT NULL,
            waiting INTEGER NOT NULL DEFAULT 0,
            reaction_event_id TEXT,
            answered_at TEXT NOT NULL,
            PRIMARY KEY (gathering_id, user_id)
        )"""
    )
    db.execute("CREATE INDEX gathering_rsvps_reaction ON gathering_rsvps (reaction_event_id)")
    db.execute(
        """CREATE TABLE gathering_reminders (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            gathering_id TEXT NOT NULL REFERENCES gatherings(id),
            occurrence TEXT NOT NULL,
            lead_seconds INTEGER NOT NULL,
            due_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            txn_key TEXT,
            fired_at TEXT,
            UNIQUE (gathering_id, occurrence, lead_seconds)
        )"""
    )
    db.execute(
        """CREATE TABLE gathering_feeds (
            scope TEXT PRIMARY KEY,
            token TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        )"""
    )


@migrations()
def m002_publication(db: Any) -> None:
    """Publishing on the public agenda is explicit: NULL means not public."""
    db.execute("ALTER TABLE gatherings ADD COLUMN published_at TEXT")
    # when a published gathering last changed, for the Atom feed's <updated>
    db.execute("ALTER TABLE gatherings ADD COLUMN changed_at TEXT")
    db.execute("CREATE INDEX gatherings_published ON gatherings (published_at)")


@migrations()
def m003_post_threads(db: Any) -> None:
    """An announcement posted in a thread: its reminders and notices in that room follow it."""
    db.execute("ALTER TABLE gathering_posts ADD COLUMN thread_root TEXT")


@dataclass(frozen=True)
class Gathering:
    id: str
    command_event_id: str
    room_id: str
    creator: str
    lang: str
    title: str
    starts_at: datetime
    tz: str
    ends_at: datetime | None = None
    place: str = ""
    place_id: str | None = None
    link: str = ""
    city: str = ""
    country: str = ""
    description: str = ""
    kind: str = "other"
    capacity: int | None = None
    languages: str = ""
    reminder_leads: str | None = None  # comma-separated seconds; None = configured default
    rrule: str | None = None
    rrule_anchor: datetime | None = None
    status: str = "scheduled"
    revision: int = 0
    published_at: datetime | None = None  # None: not on the public agenda
    changed_at: datetime | None = None

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    @property
    def published(self) -> bool:
        return self.published_at is not None


@dataclass(frozen=True)
class Post:
    gathering_id: str
    room_id: str
    event_id: str
    lang: str
    thread_root: str | None = None  # the thread the announcement was posted in


@dataclass(frozen=True)
class Rsvp:
    gathering_id: str
    user_id: str
    room_id: str
    answer: str  # yes | maybe | no
    waiting: bool
    reaction_event_id: str | None


@dataclass(frozen=True)
class Reminder:
    id: int
    gathering_id: str
    occurrence: datetime
    lead_seconds: int
    due_at: datetime
    state: str  # pending | firing | sent | dropped
    txn_key: str | None


_TIME_FIELDS = ("starts_at", "ends_at", "rrule_anchor", "published_at", "changed_at")
EDITABLE = (
    "title",
    "starts_at",
    "ends_at",
    "tz",
    "place",
    "place_id",
    "link",
    "city",
    "country",
    "description",
    "kind",
    "capacity",
    "languages",
    "reminder_leads",
    "rrule",
    "rrule_anchor",
)


def _gathering(row: dict[str, Any]) -> Gathering:
    values = {k: v for k, v in row.items() if k != "created_at"}
    for name in _TIME_FIELDS:
        if values.get(name):
            values[name] = from_iso(values[name])
    return Gathering(**values)


def _store(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value


def insert(db: Database, gathering: Gathering) -> Gathering | None:
    """Store a new gathering; None when its id is taken (pick another).

    A command replayed after a crash finds the gathering its first run created.
    """
    existing = by_command(db, gathering.command_event_id)
    if existing is not None:
        return existing
    values = {k: _store(v) for k, v in gathering.__dict__.items()}
    values["created_at"] = iso(utcnow())
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    try:
        db.execute(f"INSERT INTO gatherings ({columns}) VALUES ({marks})", tuple(values.values()))
    except sqlite3.IntegrityError:
        return by_command(db, gathering.command_event_id)
    return get(db, gathering.id)


def by_command(db: Database, command_event_id: str) -> Gathering | None:
    row = db.query_one("SELECT * FROM gatherings WHERE command_event_id = ?", (command_event_id,))
    return _gathering(row) if row else None


def id_taken(db: Database, gathering_id: str) -> bool:
    return db.query_one("SELECT 1 AS x FROM gatherings WHERE id = ?", (gathering_id,)) is not None


def get(db: Database, gathering_id: str) -> Gathering | None:
    row = db.query_one("SELECT * FROM gatherings WHERE id = ?", (gathering_id.lower(),))
    return _gathering(row) if row else None


def update(db: Database, gathering_id: str, **changes: Any) -> Gathering:
    """Apply field changes and bump the revision (announcement edits are keyed by it)."""
    for name in changes:
        if name not in EDITABLE:
            raise ValueError(f"not an editable field: {name}")
    sets = ", ".join(f"{name} = ?" for name in changes)
    params = tuple(_store(v) for v in changes.values())
    prefix = f"{sets}, " if sets else ""
    db.execute(
        f"UPDATE gatherings SET {prefix}revision = revision + 1, changed_at = ? WHERE id = ?",
        (*params, iso(utcnow()), gathering_id),
    )
    found = get(db, gathering_id)
    assert found is not None
    return found


def cancel(db: Database, gathering_id: str) -> Gathering:
    db.execute(
        """UPDATE gatherings SET status = 'cancelled', revision = revision + 1, changed_at = ?
           WHERE id = ? AND status != 'cancelled'""",
        (iso(utcnow()), gathering_id),
    )
    db.execute(
        "UPDATE gathering_reminders SET state = 'dropped' WHERE gathering_id = ? AND state = 'pending'",
        (gathering_id,),
    )
    found = get(db, gathering_id)
    assert found is not None
    return found


def visible_in(db: Database, room_ids: list[str], since: datetime) -> list[Gathering]:
    """Gatherings created in, or announced into, any of ``room_ids``, not over before ``since``."""
    if not room_ids:
        return []
    marks = ", ".join("?" for _ in room_ids)
    rows = db.query(
        f"""SELECT * FROM gatherings g
            WHERE (g.room_id IN ({marks}) OR EXISTS (
                SELECT 1 FROM gathering_posts p WHERE p.gathering_id = g.id AND p.room_id IN ({marks})))
              AND coalesce(g.ends_at, g.starts_at) >= ?
            ORDER BY g.starts_at""",
        (*room_ids, *room_ids, iso(since)),
    )
    return [_gathering(r) for r in rows]


def set_published(db: Database, gathering_id: str, published: bool) -> Gathering:
    """Put the gathering on the public agenda (from now) or take it off at once."""
    now = iso(utcnow())
    db.execute(
        "UPDATE gatherings SET published_at = ?, changed_at = ? WHERE id = ?",
        (now if published else None, now, gathering_id),
    )
    found = get(db, gathering_id)
    assert found is not None
    return found


def unpublish_room(db: Database, room_id: str) -> int:
    """Take every gathering created in the room off the public agenda; how many were on it."""
    now = iso(utcnow())
    cursor = db.execute(
        "UPDATE gatherings SET published_at = NULL, changed_at = ? "
        "WHERE room_id = ? AND published_at IS NOT NULL",
        (now, room_id),
    )
    return cursor.rowcount


def published_in(db: Database, room_ids: list[str], since: datetime) -> list[Gathering]:
    """Published gatherings created in any of ``room_ids``, not over before ``since``."""
    if not room_ids:
        return []
    marks = ", ".join("?" for _ in room_ids)
    rows = db.query(
        f"""SELECT * FROM gatherings
            WHERE published_at IS NOT NULL AND room_id IN ({marks})
              AND coalesce(ends_at, starts_at) >= ?
            ORDER BY starts_at, id""",
        (*room_ids, iso(since)),
    )
    return [_gathering(r) for r in rows]


def recently_published(db: Database, room_ids: list[str], limit: int) -> list[Gathering]:
    """The latest published gatherings created in any of ``room_ids``, newest first."""
    if not room_ids:
        return []
    marks = ", ".join("?" for _ in room_ids)
    rows = db.query(
        f"""SELECT * FROM gatherings
            WHERE published_at IS NOT NULL AND room_id IN ({marks})
            ORDER BY published_at DESC, id LIMIT ?""",
        (*room_ids, limit),
    )
    return [_gathering(r) for r in rows]


def scheduled_recurring(db: Database) -> list[Gathering]:
    rows = db.query("SELECT * FROM gatherings WHERE status = 'scheduled' AND rrule IS NOT NULL")
    return [_gathering(r) for r in rows]


# --- announcements --------------------------------------------------------------------------


def add_post(
    db: Database,
    gathering_id: str,
    room_id: str,
    event_id: str,
    lang: str,
    thread_root: str | None = None,
) -> None:
    db.execute(
        """INSERT OR REPLACE INTO gathering_posts
             (gathering_id, room_id, event_id, lang, posted_at, thread_root)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (gathering_id, room_id, event_id, lang, iso(utcnow()), thread_root),
    )


_POST = "SELECT gathering_id, room_id, event_id, lang, thread_root FROM gathering_posts"


def posts(db: Database, gathering_id: str) -> list[Post]:
    rows = db.query(f"{_POST} WHERE gathering_id = ? ORDER BY posted_at, room_id", (gathering_id,))
    return [Post(**r) for r in rows]


def post_by_event(db: Database, event_id: str) -> Post | None:
    row = db.query_one(f"{_POST} WHERE event_id = ?", (event_id,))
    return Post(**row) if row else None


def forget_post(db: Database, event_id: str) -> None:
    db.execute("DELETE FROM gathering_posts WHERE event_id = ?", (event_id,))


# --- RSVPs ----------------------------------------------------------------------------------


def _rsvp(row: dict[str, Any]) -> Rsvp:
    return Rsvp(
        gathering_id=row["gathering_id"],
        user_id=row["user_id"],
        room_id=row["room_id"],
        answer=row["answer"],
        waiting=bool(row["waiting"]),
        reaction_event_id=row["reaction_event_id"],
    )


def rsvp_of(db: Database, gathering_id: str, user_id: str) -> Rsvp | None:
    row = db.query_one(
        "SELECT * FROM gathering_rsvps WHERE gathering_id = ? AND user_id = ?",
        (gathering_id, user_id),
    )
    return _rsvp(row) if row else None


def rsvp_by_reaction(db: Database, reaction_event_id: str) -> Rsvp | None:
    row = db.query_one(
        "SELECT * FROM gathering_rsvps WHERE reaction_event_id = ?", (reaction_event_id,)
    )
    return _rsvp(row) if row else None


def rsvps(db: Database, gathering_id: str) -> list[Rsvp]:
    rows = db.query(
        "SELECT * FROM gathering_rsvps WHERE gathering_id = ? ORDER BY answered_at, rowid",
        (gathering_id,),
    )
    return [_rsvp(r) for r in rows]


def set_rsvp(
    db: Database,
    gathering_id: str,
    user_id: str,
    room_id: str,
    answer: str,
    *,
    capacity: int | None,
    reaction_event_id: str | None = None,
) -> tuple[Rsvp, list[Rsvp]]:
    """Record an answer; a 'yes' beyond capacity waits. Returns it and anyone promoted.

    Answering 'yes' again keeps one's place (in the list or in the queue).
    """
    with db.transaction():
        previous = rsvp_of(db, gathering_id, user_id)
        if previous is not None and previous.answer == answer == "yes":
            db.execute(
                """UPDATE gathering_rsvps SET reaction_event_id = ?, room_id = ?
                   WHERE gathering_id = ? AND user_id = ?""",
                (reaction_event_id, room_id, gathering_id, user_id),
            )
        else:
            waiting = (
                answer == "yes"
                and capacity is not None
                and (_going_count(db, gathering_id, excluding=user_id) >= capacity)
            )
            db.execute(
                """INSERT OR REPLACE INTO gathering_rsvps
                   (gathering_id, user_id, room_id, answer, waiting, reaction_event_id, answered_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (
                    gathering_id,
                    user_id,
                    room_id,
                    answer,
                    int(waiting),
                    reaction_event_id,
                    _now_precise(),
                ),
            )
        promoted = _promote(db, gathering_id, capacity)
    current = rsvp_of(db, gathering_id, user_id)
    assert current is not None
    return current, promoted


def remove_rsvp(
    db: Database, gathering_id: str, user_id: str, *, capacity: int | None
) -> list[Rsvp]:
    """Forget an answer (an un-react); returns anyone promoted into the freed place."""
    with db.transaction():
        db.execute(
            "DELETE FROM gathering_rsvps WHERE gathering_id = ? AND user_id = ?",
            (gathering_id, user_id),
        )
        return _promote(db, gathering_id, capacity)


def promote(db: Database, gathering_id: str, capacity: int | None) -> list[Rsvp]:
    """Fill free places from the waiting list (after capacity was raised)."""
    with db.transaction():
        return _promote(db, gathering_id, capacity)


def clear_rsvps(db: Database, gathering_id: str) -> None:
    db.execute("DELETE FROM gathering_rsvps WHERE gathering_id = ?", (gathering_id,))


def _going_count(db: Database, gathering_id: str, excluding: str = "") -> int:
    row = db.query_one(
        """SELECT count(*) AS n FROM gathering_rsvps
           WHERE gathering_id = ? AND answer = 'yes' AND waiting = 0 AND user_id != ?""",
        (gathering_id, excluding),
    )
    return int(row["n"]) if row else 0


def _promote(db: Database, gathering_id: str, capacity: int | None) -> list[Rsvp]:
    going = _going_count(db, gathering_id)
    free = None if capacity is None else max(capacity - going, 0)
    rows = db.query(
        """SELECT * FROM gathering_rsvps WHERE gathering_id = ? AND answer = 'yes' AND waiting = 1
           ORDER BY answered_at, rowid""",
        (gathering_id,),
    )
    chosen = rows if free is None else rows[:free]
    for row in chosen:
        db.execute(
            "UPDATE gathering_rsvps SET waiting = 0 WHERE gathering_id = ? AND user_id = ?",
            (gathering_id, row["user_id"]),
        )
    return [replace(_rsvp(r), waiting=False) for r in chosen]


def _now_precise() -> str:
    # answers arriving in the same second must keep their order in the waiting list
    return utcnow().isoformat(timespec="microseconds")


# --- reminders ------------------------------------------------------------------------------


def _reminder(row: dict[str, Any]) -> Reminder:
    return Reminder(
        id=row["id"],
        gathering_id=row["gathering_id"],
        occurrence=from_iso(row["occurrence"]),
        lead_seconds=row["lead_seconds"],
        due_at=from_iso(row["due_at"]),
        state=row["state"],
        txn_key=row["txn_key"],
    )


def add_reminder(
    db: Database, gathering_id: str, occurrence: datetime, lead_seconds: int, due_at: datetime
) -> None:
    db.execute(
        """INSERT OR IGNORE INTO gathering_reminders (gathering_id, occurrence, lead_seconds, due_at)
           VALUES (?, ?, ?, ?)""",
        (gathering_id, iso(occurrence), lead_seconds, iso(due_at)),
    )


def drop_pending_reminders(db: Database, gathering_id: str) -> list[int]:
    """Drop reminders not yet fired (the time changed); returns their ids for the scheduler."""
    rows = db.query(
        "SELECT id FROM gathering_reminders WHERE gathering_id = ? AND state = 'pending'",
        (gathering_id,),
    )
    db.execute(
        "DELETE FROM gathering_reminders WHERE gathering_id = ? AND state = 'pending'",
        (gathering_id,),
    )
    return [int(r["id"]) for r in rows]


def reminders_of(db: Database, gathering_id: str) -> list[Reminder]:
    rows = db.query(
        "SELECT * FROM gathering_reminders WHERE gathering_id = ? ORDER BY due_at",
        (gathering_id,),
    )
    return [_reminder(r) for r in rows]


def reminder(db: Database, reminder_id: int) -> Reminder | None:
    row = db.query_one("SELECT * FROM gathering_reminders WHERE id = ?", (reminder_id,))
    return _reminder(row) if row else None


def unfinished_reminders(db: Database) -> list[Reminder]:
    """Reminders not yet sent (pending, or recorded as firing when the bot stopped)."""
    rows = db.query(
        """SELECT r.* FROM gathering_reminders r JOIN gatherings g ON g.id = r.gathering_id
           WHERE r.state IN ('pending', 'firing') AND g.status = 'scheduled' ORDER BY r.due_at"""
    )
    return [_reminder(r) for r in rows]


def claim_reminder(db: Database, reminder_id: int, txn_key: str) -> Reminder | None:
    """Record the intent to send (state 'firing' with its txn key) before sending anything.

    Returns the reminder to send, or None when it was already sent or dropped. A reminder
    left 'firing' by a crash is returned again with the same txn key, so the homeserver
    treats the second send as the first.
    """
    with db.transaction():
        db.execute(
            """UPDATE gathering_reminders SET state = 'firing', txn_key = ?, fired_at = ?
               WHERE id = ? AND state = 'pending'""",
            (txn_key, iso(utcnow()), reminder_id),
        )
        row = db.query_one(
            "SELECT * FROM gathering_reminders WHERE id = ? AND state = 'firing'", (reminder_id,)
        )
    return _reminder(row) if row else None


def finish_reminder(db: Database, reminder_id: int, state: str = "sent") -> None:
    db.execute("UPDATE gathering_reminders SET state = ? WHERE id = ?", (state, reminder_id))


# --- feeds ----------------------------------------------------------------------------------


def feed_token(db: Database, scope: str, new_token: str) -> str:
    """The scope's token, created with ``new_token`` the first time."""
    db.execute(
        "INSERT OR IGNORE INTO gathering_feeds (scope, token, created_at) VALUES (?, ?, ?)",
        (scope, new_token, iso(utcnow())),
    )
    row = db.query_one("SELECT token FROM gathering_feeds WHERE scope = ?", (scope,))
    assert row is not None
    return str(row["token"])


def feed_scope(db: Database, token: str) -> str | None:
    row = db.query_one("SELECT scope FROM gathering_feeds WHERE token = ?", (token,))
    return str(row["scope"]) if row else None


# --- data rights: !forget me and the operator's export ----------------------------------------

FORGET_KEEPS = (
    N_(
        "Gatherings you created stay, with their announcements and reminders, without your name: room admins can still change or cancel them."
    ),
)


def forget_user(db: Database, user_id: str) -> dict[str, int]:
    """Erase a member's RSVPs and their name on the gatherings they created, atomically.

    Withdrawing their RSVPs frees places, so the waiting list moves up as when anyone
    withdraws (the people moved up are not messaged: nothing is sent from here). Reminders
    go to rooms, never to one person, so none is addressed to them.
    """
    with db.transaction():
        answers = db.query(
            """SELECT r.gathering_id, g.capacity FROM gathering_rsvps r
               JOIN gatherings g ON g.id = r.gathering_id WHERE r.user_id = ?""",
            (user_id,),
        )
        db.execute("DELETE FROM gathering_rsvps WHERE user_id = ?", (user_id,))
        for row in answers:
            _promote(db, row["gathering_id"], row["capacity"])
        created = db.execute(
            "UPDATE gatherings SET creator = '', command_event_id = 'forgotten:' || id "
            "WHERE creator = ?",
            (user_id,),
        ).rowcount
    return {N_("RSVPs"): len(answers), N_("your name on gatherings you created"): created}


def export_rows(db: Database, viewers: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    """Gatherings and RSVPs; feed tokens (capabilities to read a calendar) never go out."""
    del viewers  # gatherings are visible to every member of their rooms
    gatherings = db.query(
        """SELECT id, room_id, creator, lang, title, starts_at, ends_at, tz, place, place_id,
                  link, city, country, description, kind, capacity, languages, rrule,
                  rrule_anchor, status, created_at, published_at
           FROM gatherings ORDER BY starts_at, id"""
    )
    answers = db.query(
        """SELECT gathering_id, user_id, room_id, answer, waiting, answered_at
           FROM gathering_rsvps ORDER BY gathering_id, answered_at, rowid"""
    )
    for row in answers:
        row["waiting"] = bool(row["waiting"])
    return {"events": gatherings, "events.rsvps": answers}
