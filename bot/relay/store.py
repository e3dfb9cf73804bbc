"""Relay groups, room links, glossaries, the relay map and the relay's failure counters.

The relay map is persisted (source event -> one copy per target room, looked up both ways) so
replies, edits, redactions and reactions still find their copies after a restart.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core.i18n import N_
from bot.core.storage.database import Database, from_iso, iso, migration_set, utcnow

migrations = migration_set("relay")

MODES = ("two-way", "receive", "send")


@migrations()
def m001_relay(db: Any) -> None:
    db.execute(
        """CREATE TABLE relay_links (
            room_id TEXT PRIMARY KEY,
            grp TEXT NOT NULL,
            language TEXT NOT NULL,
            mode TEXT NOT NULL DEFAULT 'two-way',
            paused INTEGER NOT NULL DEFAULT 0,
            linked_by TEXT NOT NULL,
            linked_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX relay_links_grp ON relay_links (grp)")
    db.execute(
        """CREATE TABLE relay_glossary (
            grp TEXT NOT NULL,
            term TEXT NOT NULL COLLATE NOCASE,
            added_by TEXT NOT NULL,
            added_at TEXT NOT NULL,
            PRIMARY KEY (grp, term)
        )"""
    )
    db.execute(
        """CREATE TABLE relay_sources (
            event_id TEXT PRIMARY KEY,
            room_id TEXT NOT NULL,
            sender TEXT NOT NULL,
            grp TEXT NOT NULL,
            kind TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE relay_copies (
            source_event_id TEXT NOT NULL REFERENCES relay_sources (event_id) ON DELETE CASCADE,
            room_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            annotates TEXT,
            reaction_key TEXT,
            created_at TEXT NOT NULL,
            PRIMARY KEY (source_event_id, room_id)
        )"""
    )
    db.execute("CREATE INDEX relay_copies_event ON relay_copies (event_id)")
    db.execute("CREATE INDEX relay_copies_annotates ON relay_copies (room_id, annotates)")
    db.execute(
        """CREATE TABLE relay_health (
            grp TEXT PRIMARY KEY,
            untranslated INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            last_error_at TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE relay_routes (
            grp TEXT NOT NULL,
            source TEXT NOT NULL,
            target TEXT NOT NULL,
            engine TEXT NOT NULL,
            pivot TEXT NOT NULL DEFAULT '',
            uses INTEGER NOT NULL DEFAULT 0,
            last_used_at TEXT NOT NULL,
            PRIMARY KEY (grp, source, target, engine, pivot)
        )"""
    )


@migrations()
def m002_spaces(db: Any) -> None:
    """A group shown as a Matrix space, and the children the bot keeps in it."""
    db.execute(
        """CREATE TABLE relay_spaces (
            grp TEXT PRIMARY KEY,
            space_id TEXT NOT NULL,
            name TEXT NOT NULL,
            created INTEGER NOT NULL,
            set_by TEXT NOT NULL,
            set_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE relay_space_children (
            grp TEXT NOT NULL,
            room_id TEXT NOT NULL,
            language TEXT NOT NULL,
            PRIMARY KEY (grp, room_id)
        )"""
    )


# milliseconds since the epoch, as homeservers stamp events
_NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
_SENDS = "{row}.mode != 'receive' AND {row}.paused = 0"


@migrations()
def m003_sending_since(db: Any) -> None:
    """When each room last started sending to its group (linked, resumed, left receive-only).

    A thread's root that never went out is copied later only if it was written since then.
    Triggers keep it, so every way a link changes keeps it alike; rooms linked before this
    upgrade count from the upgrade.
    """
    db.execute("ALTER TABLE relay_links ADD COLUMN sending_since_ms INTEGER")
    db.execute(
        f"UPDATE relay_links SET sending_since_ms = {_NOW_MS} WHERE {_SENDS.format(row='relay_links')}"
    )
    db.execute(
        f"""CREATE TRIGGER relay_links_sending_insert AFTER INSERT ON relay_links
            WHEN {_SENDS.format(row="NEW")}
            BEGIN
              UPDATE relay_links SET sending_since_ms = {_NOW_MS} WHERE room_id = NEW.room_id;
            END"""
    )
    db.execute(
        f"""CREATE TRIGGER relay_links_sending_update AFTER UPDATE OF mode, paused ON relay_links
            WHEN ({_SENDS.format(row="NEW")}) != ({_SENDS.format(row="OLD")})
            BEGIN
              UPDATE relay_links
                SET sending_since_ms = CASE WHEN {_SENDS.format(row="NEW")}
                                            THEN {_NOW_MS} ELSE NULL END
                WHERE room_id = NEW.room_id;
            END"""
    )


@migrations()
def m004_unencrypted_consent(db: Any) -> None:
    """An encrypted room's messages reach rooms that are not encrypted only with the explicit
    consent of its admins, given when linking; links made before ask for it again."""
    db.execute("ALTER TABLE relay_links ADD COLUMN allow_unencrypted INTEGER NOT NULL DEFAULT 0")
    # whether the room was told once that its messages stay out of the unencrypted rooms
    db.execute("ALTER TABLE relay_links ADD COLUMN held_back_told INTEGER NOT NULL DEFAULT 0")


@migrations()
def m005_consent(db: Any) -> None:
    """Stewards, join requests, join codes and the groups' history.

    Every existing group gets its earliest linked room as steward room, and a history entry
    that tells that room so once (see :func:`untold`).
    """
    db.execute(
        """CREATE TABLE relay_stewards (
            grp TEXT NOT NULL,
            room_id TEXT NOT NULL,
            added_by TEXT NOT NULL,
            added_at TEXT NOT NULL,
            PRIMARY KEY (grp, room_id)
        )"""
    )
    db.execute(
        """CREATE TABLE relay_requests (
            id TEXT PRIMARY KEY,
            grp TEXT NOT NULL,
            room_id TEXT NOT NULL,
            language TEXT NOT NULL,
            mode TEXT NOT NULL,
            requested_by TEXT NOT NULL,
            requested_at TEXT NOT NULL,
            command_event_id TEXT UNIQUE,
            room_name TEXT NOT NULL,
            members INTEGER NOT NULL,
            encrypted INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            decided_by TEXT,
            decided_at TEXT
        )"""
    )
    db.execute("CREATE INDEX relay_requests_grp ON relay_requests (grp, status)")
    db.execute(
        "CREATE UNIQUE INDEX relay_requests_pending ON relay_requests (room_id) "
        "WHERE status = 'pending'"
    )
    db.execute(
        """CREATE TABLE relay_codes (
            digest TEXT PRIMARY KEY,
            grp TEXT NOT NULL,
            issued_by TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_by_room TEXT,
            used_at TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE relay_audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            grp TEXT NOT NULL,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            room_id TEXT,
            details TEXT NOT NULL DEFAULT '{}',
            told INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute("CREATE INDEX relay_audit_grp ON relay_audit (grp, id)")
    db.execute("CREATE INDEX relay_audit_untold ON relay_audit (told) WHERE told = 0")
    now = iso(utcnow())
    earliest = db.execute(
        """SELECT l.grp, l.room_id FROM relay_links l
           WHERE l.rowid = (SELECT e.rowid FROM relay_links e WHERE e.grp = l.grp
                            ORDER BY e.linked_at, e.rowid LIMIT 1)"""
    ).fetchall()
    for group, room_id in earliest:
        db.execute(
            "INSERT INTO relay_stewards (grp, room_id, added_by, added_at) VALUES (?, ?, '', ?)",
            (group, room_id, now),
        )
        db.execute(
            """INSERT INTO relay_audit (grp, at, actor, action, room_id, details, told)
               VALUES (?, ?, '', 'steward-upgrade', ?, ?, 0)""",
            (group, now, room_id, json.dumps({"tell": room_id, "quiet": room_id})),
        )


@migrations()
def m006_map_horizon(db: Any) -> None:
    """The relay map is pruned by age; how far back it was pruned is kept, so an edit or a
    redaction of an older message is known for what it is (not mistaken for one never relayed)."""
    db.execute("CREATE INDEX relay_sources_created ON relay_sources (created_at)")
    db.execute(
        "CREATE TABLE relay_map_horizon (id INTEGER PRIMARY KEY CHECK (id = 1), pruned_before TEXT)"
    )


@dataclass(frozen=True)
class RoomLink:
    group: str
    room_id: str
    language: str
    mode: str  # two-way | receive | send
    paused: bool
    # a steward allowed this (encrypted) room's messages into the group's unencrypted rooms
    allow_unencrypted: bool = False

    @property
    def sends(self) -> bool:
        """Whether this room's messages go out to the group."""
        return self.mode in ("two-way", "send") and not self.paused

    @property
    def receives(self) -> bool:
        """Whether this room gets the group's messages."""
        return self.mode in ("two-way", "receive") and not self.paused


def directions(mode: str) -> set[str]:
    """What a mode lets through: "out" (its messages go to the group), "in" (it gets theirs)."""
    return {"two-way": {"in", "out"}, "receive": {"in"}, "send": {"out"}}[mode]


def mode_sends(mode: str) -> bool:
    return "out" in directions(mode)


def mode_receives(mode: str) -> bool:
    return "in" in directions(mode)


@dataclass(frozen=True)
class JoinRequest:
    """A room asking to join a group (or to widen its mode); nothing is relayed until approved."""

    id: str
    group: str
    room_id: str
    language: str
    mode: str
    requested_by: str
    requested_at: datetime
    room_name: str
    members: int
    encrypted: bool
    status: str  # pending | approved | refused | withdrawn | lapsed
    decided_by: str | None


@dataclass(frozen=True)
class AuditEntry:
    """One change to a group: who, when, what, and the words the announcement needs."""

    id: int
    group: str
    at: datetime
    actor: str
    action: str
    room_id: str | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RelaySource:
    """An event that was relayed: where it was posted and by whom."""

    event_id: str
    room_id: str
    sender: str
    group: str
    kind: str


@dataclass(frozen=True)
class RelayCopy:
    source_event_id: str
    room_id: str
    event_id: str


@dataclass(frozen=True)
class RelayHealth:
    untranslated: int
    last_error: str | None
    last_error_at: datetime | None


@dataclass(frozen=True)
class RouteUse:
    source: str
    target: str
    engine: str
    pivot: str | None
    uses: int


def _link(row: dict[str, Any]) -> RoomLink:
    return RoomLink(
        row["grp"],
        row["room_id"],
        row["language"],
        row["mode"],
        bool(row["paused"]),
        bool(row["allow_unencrypted"]),
    )


# ---- links ----------------------------------------------------------------------------------


def room_link(db: Database, room_id: str) -> RoomLink | None:
    row = db.query_one("SELECT * FROM relay_links WHERE room_id = ?", (room_id,))
    return _link(row) if row else None


def group_rooms(db: Database, group: str) -> list[RoomLink]:
    rows = db.query("SELECT * FROM relay_links WHERE grp = ? ORDER BY linked_at, room_id", (group,))
    return [_link(r) for r in rows]


def link(
    db: Database,
    room_id: str,
    group: str,
    language: str,
    mode: str,
    linked_by: str,
    *,
    allow_unencrypted: bool = False,
) -> RoomLink:
    """Link the room (or change its language and mode within the same group).

    ``allow_unencrypted`` only ever adds a steward's consent; a relink keeps an earlier one.
    """
    if mode not in MODES:
        raise ValueError(f"unknown relay mode {mode!r}")
    db.execute(
        """INSERT INTO relay_links
             (room_id, grp, language, mode, paused, linked_by, linked_at, allow_unencrypted)
           VALUES (?, ?, ?, ?, 0, ?, ?, ?)
           ON CONFLICT (room_id) DO UPDATE SET
             grp = excluded.grp, language = excluded.language, mode = excluded.mode,
             allow_unencrypted = max(allow_unencrypted, excluded.allow_unencrypted),
             held_back_told = 0""",
        (room_id, group, language, mode, linked_by, iso(utcnow()), int(allow_unencrypted)),
    )
    found = room_link(db, room_id)
    assert found is not None
    return found


def set_mode(db: Database, room_id: str, mode: str) -> bool:
    """Whether anything changed."""
    if mode not in MODES:
        raise ValueError(f"unknown relay mode {mode!r}")
    cursor = db.execute(
        "UPDATE relay_links SET mode = ? WHERE room_id = ? AND mode != ?", (mode, room_id, mode)
    )
    return cursor.rowcount > 0


def allow_unencrypted(db: Database, room_id: str) -> bool:
    """A steward's consent for this room's messages to reach unencrypted rooms; whether new."""
    cursor = db.execute(
        "UPDATE relay_links SET allow_unencrypted = 1 WHERE room_id = ? AND allow_unencrypted = 0",
        (room_id,),
    )
    return cursor.rowcount > 0


def note_held_back_told(db: Database, room_id: str) -> bool:
    """Whether the room is to be told now that its messages stay out of unencrypted rooms
    (once per link: true the first time only)."""
    cursor = db.execute(
        "UPDATE relay_links SET held_back_told = 1 WHERE room_id = ? AND held_back_told = 0",
        (room_id,),
    )
    return cursor.rowcount > 0


def groups(db: Database) -> list[str]:
    return [r["grp"] for r in db.query("SELECT DISTINCT grp FROM relay_links ORDER BY grp")]


def sending_since_ms(db: Database, room_id: str) -> int | None:
    """When the room last started sending to its group (ms since the epoch); None if it
    does not send now."""
    row = db.query_one("SELECT sending_since_ms FROM relay_links WHERE room_id = ?", (room_id,))
    return int(row["sending_since_ms"]) if row and row["sending_since_ms"] is not None else None


def unlink(db: Database, room_id: str) -> RoomLink | None:
    """Remove the room from its group; the link it had, or None."""
    existing = room_link(db, room_id)
    if existing is not None:
        db.execute("DELETE FROM relay_links WHERE room_id = ?", (room_id,))
    return existing


def dissolve_if_empty(db: Database, group: str) -> bool:
    """A group whose last room left keeps nothing: stewards, codes and requests go.

    Its name is free again; whoever links to it next starts a new group and stewards it.
    """
    if db.query_one("SELECT 1 AS x FROM relay_links WHERE grp = ?", (group,)) is not None:
        return False
    db.execute("DELETE FROM relay_stewards WHERE grp = ?", (group,))
    db.execute("DELETE FROM relay_codes WHERE grp = ?", (group,))
    db.execute(
        "UPDATE relay_requests SET status = 'lapsed', decided_at = ? "
        "WHERE grp = ? AND status = 'pending'",
        (iso(utcnow()), group),
    )
    return True


def set_paused(db: Database, room_id: str, paused: bool) -> bool:
    """Whether anything changed."""
    cursor = db.execute(
        "UPDATE relay_links SET paused = ? WHERE room_id = ? AND paused != ?",
        (int(paused), room_id, int(paused)),
    )
    return cursor.rowcount > 0


# ---- stewards -------------------------------------------------------------------------------


def steward_rooms(db: Database, group: str) -> list[str]:
    rows = db.query(
        "SELECT room_id FROM relay_stewards WHERE grp = ? ORDER BY added_at, room_id", (group,)
    )
    return [r["room_id"] for r in rows]


def add_steward(db: Database, group: str, room_id: str, added_by: str) -> bool:
    """Whether the room is new to the group's steward rooms."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO relay_stewards (grp, room_id, added_by, added_at) VALUES (?, ?, ?, ?)",
        (group, room_id, added_by, iso(utcnow())),
    )
    return cursor.rowcount > 0


def remove_steward(db: Database, group: str, room_id: str) -> bool:
    cursor = db.execute(
        "DELETE FROM relay_stewards WHERE grp = ? AND room_id = ?", (group, room_id)
    )
    return cursor.rowcount > 0


# ---- join requests --------------------------------------------------------------------------


def _request(row: dict[str, Any]) -> JoinRequest:
    return JoinRequest(
        id=row["id"],
        group=row["grp"],
        room_id=row["room_id"],
        language=row["language"],
        mode=row["mode"],
        requested_by=row["requested_by"],
        requested_at=from_iso(row["requested_at"]),
        room_name=row["room_name"],
        members=int(row["members"]),
        encrypted=bool(row["encrypted"]),
        status=row["status"],
        decided_by=row["decided_by"],
    )


def request_id_taken(db: Database, request_id: str) -> bool:
    return db.query_one("SELECT 1 AS x FROM relay_requests WHERE id = ?", (request_id,)) is not None


def add_request(
    db: Database,
    *,
    request_id: str,
    group: str,
    room_id: str,
    language: str,
    mode: str,
    requested_by: str,
    command_event_id: str,
    room_name: str,
    members: int,
    encrypted: bool,
) -> JoinRequest:
    db.execute(
        """INSERT INTO relay_requests
             (id, grp, room_id, language, mode, requested_by, requested_at, command_event_id,
              room_name, members, encrypted)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            request_id,
            group,
            room_id,
            language,
            mode,
            requested_by,
            iso(utcnow()),
            command_event_id,
            room_name,
            members,
            int(encrypted),
        ),
    )
    found = request(db, request_id)
    assert found is not None
    return found


def request(db: Database, request_id: str) -> JoinRequest | None:
    row = db.query_one("SELECT * FROM relay_requests WHERE id = ?", (request_id,))
    return _request(row) if row else None


def request_by_command(db: Database, command_event_id: str) -> JoinRequest | None:
    row = db.query_one(
        "SELECT * FROM relay_requests WHERE command_event_id = ?", (command_event_id,)
    )
    return _request(row) if row else None


def pending_request_of(db: Database, room_id: str) -> JoinRequest | None:
    row = db.query_one(
        "SELECT * FROM relay_requests WHERE room_id = ? AND status = 'pending'", (room_id,)
    )
    return _request(row) if row else None


def pending_requests(db: Database, group: str) -> list[JoinRequest]:
    rows = db.query(
        "SELECT * FROM relay_requests WHERE grp = ? AND status = 'pending' ORDER BY requested_at",
        (group,),
    )
    return [_request(r) for r in rows]


def decide_request(db: Database, request_id: str, status: str, decided_by: str) -> bool:
    """Close a pending request; False when it was no longer pending (decided meanwhile)."""
    cursor = db.execute(
        """UPDATE relay_requests SET status = ?, decided_by = ?, decided_at = ?
           WHERE id = ? AND status = 'pending'""",
        (status, decided_by, iso(utcnow()), request_id),
    )
    return cursor.rowcount > 0


# ---- join codes -----------------------------------------------------------------------------


def code_digest(code: str) -> str:
    """Codes are kept as a hash: the table alone never lets anyone in."""
    normal = "".join(c for c in code.lower() if c.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def add_code(db: Database, code: str, group: str, issued_by: str, expires_at: datetime) -> None:
    db.execute(
        """INSERT INTO relay_codes (digest, grp, issued_by, issued_at, expires_at)
           VALUES (?, ?, ?, ?, ?)""",
        (code_digest(code), group, issued_by, iso(utcnow()), iso(expires_at)),
    )


def use_code(db: Database, code: str, group: str, room_id: str) -> str | None:
    """Spend a valid code of ``group`` for ``room_id``: who issued it, or None.

    Unknown, used, expired and other groups' codes are all just invalid (one atomic update,
    so a code is never spent twice).
    """
    digest = code_digest(code)
    now = iso(utcnow())
    cursor = db.execute(
        """UPDATE relay_codes SET used_by_room = ?, used_at = ?
           WHERE digest = ? AND grp = ? AND used_at IS NULL AND expires_at > ?""",
        (room_id, now, digest, group, now),
    )
    if cursor.rowcount == 0:
        return None
    row = db.query_one("SELECT issued_by FROM relay_codes WHERE digest = ?", (digest,))
    return str(row["issued_by"]) if row else ""


# ---- the groups' history --------------------------------------------------------------------


def _entry(row: dict[str, Any]) -> AuditEntry:
    try:
        details = json.loads(row["details"] or "{}")
    except json.JSONDecodeError:
        details = {}
    return AuditEntry(
        id=int(row["id"]),
        group=row["grp"],
        at=from_iso(row["at"]),
        actor=row["actor"],
        action=row["action"],
        room_id=row["room_id"],
        details=details if isinstance(details, dict) else {},
    )


def record(
    db: Database,
    group: str,
    actor: str,
    action: str,
    room_id: str | None,
    details: dict[str, Any],
    *,
    told: bool = False,
) -> int:
    """One change to the group; ``told`` False leaves it for the steward rooms to be told."""
    cursor = db.execute(
        """INSERT INTO relay_audit (grp, at, actor, action, room_id, details, told)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (group, iso(utcnow()), actor, action, room_id, json.dumps(details), int(told)),
    )
    return int(cursor.lastrowid or 0)


def untold(db: Database) -> list[AuditEntry]:
    rows = db.query("SELECT * FROM relay_audit WHERE told = 0 ORDER BY id")
    return [_entry(r) for r in rows]


def mark_told(db: Database, entry_id: int) -> None:
    db.execute("UPDATE relay_audit SET told = 1 WHERE id = ?", (entry_id,))


def history(db: Database, group: str, limit: int) -> list[AuditEntry]:
    """The group's most recent changes, oldest first."""
    rows = db.query(
        "SELECT * FROM relay_audit WHERE grp = ? ORDER BY id DESC LIMIT ?", (group, limit)
    )
    return [_entry(r) for r in reversed(rows)]


# ---- glossary -------------------------------------------------------------------------------


def glossary(db: Database, group: str) -> list[str]:
    rows = db.query(
        "SELECT term FROM relay_glossary WHERE grp = ? ORDER BY term COLLATE NOCASE", (group,)
    )
    return [r["term"] for r in rows]


def add_term(db: Database, group: str, term: str, added_by: str) -> bool:
    """Whether the term is new to the group (the comparison ignores case)."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO relay_glossary (grp, term, added_by, added_at) VALUES (?, ?, ?, ?)",
        (group, term, added_by, iso(utcnow())),
    )
    return cursor.rowcount > 0


def remove_term(db: Database, group: str, term: str) -> bool:
    cursor = db.execute("DELETE FROM relay_glossary WHERE grp = ? AND term = ?", (group, term))
    return cursor.rowcount > 0


# ---- the relay map --------------------------------------------------------------------------


def record_source(
    db: Database, event_id: str, room_id: str, sender: str, group: str, kind: str
) -> None:
    """Remember a relayed event (a message's row goes with its first copy; a replay records
    nothing twice)."""
    db.execute(
        """INSERT OR IGNORE INTO relay_sources (event_id, room_id, sender, grp, kind, created_at)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (event_id, room_id, sender, group, kind, iso(utcnow())),
    )


def source(db: Database, event_id: str) -> RelaySource | None:
    row = db.query_one("SELECT * FROM relay_sources WHERE event_id = ?", (event_id,))
    if row is None:
        return None
    return RelaySource(row["event_id"], row["room_id"], row["sender"], row["grp"], row["kind"])


def record_copy(
    db: Database,
    source_event_id: str,
    room_id: str,
    event_id: str,
    annotation: tuple[str, str] | None = None,
) -> None:
    """``annotation`` is (event reacted to, key) when the copy is a reaction."""
    annotates, key = annotation or (None, None)
    db.execute(
        """INSERT OR REPLACE INTO relay_copies
             (source_event_id, room_id, event_id, annotates, reaction_key, created_at)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (source_event_id, room_id, event_id, annotates, key, iso(utcnow())),
    )


def forget_copy(db: Database, source_event_id: str, room_id: str) -> None:
    """The copy was removed: nothing refers to it any more."""
    db.execute(
        "DELETE FROM relay_copies WHERE source_event_id = ? AND room_id = ?",
        (source_event_id, room_id),
    )


def has_reaction(db: Database, room_id: str, annotates: str, key: str) -> bool:
    """Whether the bot already put this reaction on that event (a server allows it once)."""
    row = db.query_one(
        """SELECT 1 AS x FROM relay_copies
           WHERE room_id = ? AND annotates = ? AND reaction_key = ?""",
        (room_id, annotates, key),
    )
    return row is not None


def copies_of(db: Database, source_event_id: str) -> list[RelayCopy]:
    rows = db.query(
        "SELECT * FROM relay_copies WHERE source_event_id = ? ORDER BY room_id",
        (source_event_id,),
    )
    return [RelayCopy(r["source_event_id"], r["room_id"], r["event_id"]) for r in rows]


def copy_in(db: Database, source_event_id: str, room_id: str) -> str | None:
    row = db.query_one(
        "SELECT event_id FROM relay_copies WHERE source_event_id = ? AND room_id = ?",
        (source_event_id, room_id),
    )
    return str(row["event_id"]) if row else None


def origin_of(db: Database, event_id: str) -> RelaySource | None:
    """The relayed source behind ``event_id``: itself if it is a source, else what it copies."""
    found = source(db, event_id)
    if found is not None:
        return found
    row = db.query_one("SELECT source_event_id FROM relay_copies WHERE event_id = ?", (event_id,))
    return source(db, row["source_event_id"]) if row else None


def counterpart(db: Database, event_id: str, room_id: str) -> str | None:
    """The event standing for ``event_id`` in ``room_id``: the original or its copy there."""
    origin = origin_of(db, event_id)
    if origin is None:
        return None
    if origin.room_id == room_id:
        return origin.event_id
    return copy_in(db, origin.event_id, room_id)


def prune_map(db: Database, older_than: datetime, limit: int = 500) -> int:
    """Forget up to ``limit`` relayed events recorded before ``older_than`` and the links to
    their copies; how many rows went. Notes how far back the map now reaches."""
    cutoff = iso(older_than)
    with db.transaction():
        doomed = "SELECT event_id FROM relay_sources WHERE created_at < ? LIMIT ?"
        copies = db.execute(
            f"DELETE FROM relay_copies WHERE source_event_id IN ({doomed})",  # noqa: S608
            (cutoff, limit),
        ).rowcount
        sources = db.execute(
            f"DELETE FROM relay_sources WHERE event_id IN ({doomed})",  # noqa: S608
            (cutoff, limit),
        ).rowcount
        db.execute(
            "INSERT INTO relay_map_horizon (id, pruned_before) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET pruned_before = max(pruned_before, excluded.pruned_before)",
            (cutoff,),
        )
    return int(copies + sources)


def pruned_before(db: Database) -> datetime | None:
    """Relayed events recorded before this moment may have left the relay map."""
    row = db.query_one("SELECT pruned_before FROM relay_map_horizon WHERE id = 1")
    return from_iso(row["pruned_before"]) if row and row["pruned_before"] else None


def is_copy(db: Database, event_id: str) -> bool:
    return (
        db.query_one("SELECT 1 AS x FROM relay_copies WHERE event_id = ?", (event_id,)) is not None
    )


# ---- spaces ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupSpace:
    """The Matrix space that shows a group's rooms."""

    group: str
    space_id: str
    name: str
    created: bool  # made by the bot, which then also keeps its topic and join rule


def space_of(db: Database, group: str) -> GroupSpace | None:
    row = db.query_one("SELECT * FROM relay_spaces WHERE grp = ?", (group,))
    if row is None:
        return None
    return GroupSpace(row["grp"], row["space_id"], row["name"], bool(row["created"]))


def set_space(
    db: Database, group: str, space_id: str, name: str, created: bool, set_by: str
) -> GroupSpace:
    """The group's space from now on; the children recorded for an earlier one are dropped."""
    with db.transaction():
        previous = space_of(db, group)
        if previous is None or previous.space_id != space_id:
            db.execute("DELETE FROM relay_space_children WHERE grp = ?", (group,))
        db.execute(
            """INSERT INTO relay_spaces (grp, space_id, name, created, set_by, set_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (grp) DO UPDATE SET space_id = excluded.space_id,
                 name = excluded.name, created = excluded.created,
                 set_by = excluded.set_by, set_at = excluded.set_at""",
            (group, space_id, name, int(created), set_by, iso(utcnow())),
        )
    found = space_of(db, group)
    assert found is not None
    return found


def drop_space(db: Database, group: str) -> None:
    """The group keeps no space any more (the space itself is left as it is)."""
    with db.transaction():
        db.execute("DELETE FROM relay_space_children WHERE grp = ?", (group,))
        db.execute("DELETE FROM relay_spaces WHERE grp = ?", (group,))


def rename_space(db: Database, group: str, name: str) -> None:
    db.execute("UPDATE relay_spaces SET name = ? WHERE grp = ?", (name, group))


def space_children(db: Database, group: str) -> dict[str, str]:
    """Room id -> language of each child the bot has put in the group's space."""
    rows = db.query(
        "SELECT room_id, language FROM relay_space_children WHERE grp = ? ORDER BY room_id",
        (group,),
    )
    return {r["room_id"]: r["language"] for r in rows}


def set_space_child(db: Database, group: str, room_id: str, language: str) -> None:
    db.execute(
        """INSERT INTO relay_space_children (grp, room_id, language) VALUES (?, ?, ?)
           ON CONFLICT (grp, room_id) DO UPDATE SET language = excluded.language""",
        (group, room_id, language),
    )


def drop_space_child(db: Database, group: str, room_id: str) -> None:
    db.execute("DELETE FROM relay_space_children WHERE grp = ? AND room_id = ?", (group, room_id))


# ---- health ---------------------------------------------------------------------------------


def count_untranslated(db: Database, group: str, error: str | None) -> None:
    """One copy went out untranslated because every engine failed."""
    now = iso(utcnow())
    db.execute(
        """INSERT INTO relay_health (grp, untranslated, last_error, last_error_at)
           VALUES (?, 1, ?, ?)
           ON CONFLICT (grp) DO UPDATE SET
             untranslated = untranslated + 1,
             last_error = COALESCE(excluded.last_error, last_error),
             last_error_at = excluded.last_error_at""",
        (group, error, now),
    )


def health(db: Database, group: str) -> RelayHealth:
    row = db.query_one("SELECT * FROM relay_health WHERE grp = ?", (group,))
    if row is None:
        return RelayHealth(0, None, None)
    at = from_iso(row["last_error_at"]) if row["last_error_at"] else None
    return RelayHealth(int(row["untranslated"]), row["last_error"], at)


def count_route(
    db: Database,
    group: str,
    source_lang: str,
    target: str,
    engine: str,
    pivot: str | None,
    uses: int = 1,
) -> None:
    db.execute(
        """INSERT INTO relay_routes (grp, source, target, engine, pivot, uses, last_used_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (grp, source, target, engine, pivot) DO UPDATE SET
             uses = uses + excluded.uses, last_used_at = excluded.last_used_at""",
        (group, source_lang, target, engine, pivot or "", uses, iso(utcnow())),
    )


def routes(db: Database, group: str) -> list[RouteUse]:
    rows = db.query(
        "SELECT * FROM relay_routes WHERE grp = ? ORDER BY source, target, engine", (group,)
    )
    return [
        RouteUse(r["source"], r["target"], r["engine"], r["pivot"] or None, int(r["uses"]))
        for r in rows
    ]


# ---- data rights: !forget me ----------------------------------------------------------------

FORGET_KEEPS = (
    N_(
        "Relayed copies of your messages stay in the other rooms, and I can no longer find them: deleting one of your messages from now on does not delete its copies. Ask a room admin to remove copies you want gone."
    ),
)


def forget_user(db: Database, user_id: str) -> dict[str, int]:
    """Drop the relay map's rows about a member's events (their copies go with them).

    Without these rows an edit, redaction or reply can no longer be traced to that member
    (the copies' attribution lives only in the rooms). Their name on links, glossary terms
    and spaces they set up is erased as well; those stay for the group.
    """
    with db.transaction():
        copies = db.query_one(
            """SELECT count(*) AS n FROM relay_copies c
               JOIN relay_sources s ON s.event_id = c.source_event_id WHERE s.sender = ?""",
            (user_id,),
        )
        db.execute(
            """DELETE FROM relay_copies WHERE source_event_id IN
               (SELECT event_id FROM relay_sources WHERE sender = ?)""",
            (user_id,),
        )
        sources = db.execute("DELETE FROM relay_sources WHERE sender = ?", (user_id,)).rowcount
        links = db.execute(
            "UPDATE relay_links SET linked_by = '' WHERE linked_by = ?", (user_id,)
        ).rowcount
        terms = db.execute(
            "UPDATE relay_glossary SET added_by = '' WHERE added_by = ?", (user_id,)
        ).rowcount
        spaces = db.execute(
            "UPDATE relay_spaces SET set_by = '' WHERE set_by = ?", (user_id,)
        ).rowcount
        history = 0
        for sql in (
            "UPDATE relay_audit SET actor = '' WHERE actor = ?",
            "UPDATE relay_requests SET requested_by = '' WHERE requested_by = ?",
            "UPDATE relay_requests SET decided_by = '' WHERE decided_by = ?",
            "UPDATE relay_codes SET issued_by = '' WHERE issued_by = ?",
            "UPDATE relay_stewards SET added_by = '' WHERE added_by = ?",
        ):
            history += db.execute(sql, (user_id,)).rowcount
        # names written into the words of an announcement (an issuer, a requester)
        history += db.execute(
            """UPDATE relay_audit SET details = json_remove(details, '$.issuer', '$.requester')
               WHERE json_extract(details, '$.issuer') = ?1
                  OR json_extract(details, '$.requester') = ?1""",
            (user_id,),
        ).rowcount
    return {
        N_("records of your relayed messages"): sources,
        N_("links to the relayed copies of your messages"): int(copies["n"]) if copies else 0,
        N_("your name on relay links, glossary terms and group spaces"): links + terms + spaces,
        N_("your name in the relay groups' requests, codes and history"): history,
    }
