"""Mutual aid: requests, their history, offers, matches, coordinators' rooms and nudges.

Every creation stores the command's event id in a UNIQUE column, so a command handled again
after a crash finds what it already did instead of doing it twice. Nudges and notices are
recorded as rows before they are sent; the row id gives the transaction id of the send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.i18n import N_
from bot.core.storage.database import Database, from_iso, iso, migration_set, utcnow
from bot.core.text.forms import new_id

migrations = migration_set("aid")

ACTIVE = ("open", "in_progress", "partial")
TERMINAL = ("fulfilled", "closed", "duplicate", "transferred", "expired")
VISIBILITIES = ("network", "coordinators", "anonymous")


@migrations()
def m001_aid(db: Any) -> None:
    db.execute(
        """CREATE TABLE aid_requests (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL UNIQUE,
            room_id TEXT NOT NULL,
            lang TEXT NOT NULL,
            requester TEXT,
            category TEXT NOT NULL,
            urgency TEXT NOT NULL,
            city TEXT NOT NULL DEFAULT '',
            country TEXT NOT NULL,
            needed_by TEXT,
            description TEXT NOT NULL,
            visibility TEXT NOT NULL
                CHECK (visibility IN ('network', 'coordinators', 'anonymous')),
            notify_dm INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'open',
            claimer TEXT,
            claim_room TEXT,
            duplicate_of INTEGER,
            outcome_note TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            closed_at TEXT,
            forgotten_at TEXT
        )"""
    )
    db.execute("CREATE INDEX aid_requests_status ON aid_requests (status, updated_at)")
    db.execute(
        """CREATE TABLE aid_history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id INTEGER NOT NULL REFERENCES aid_requests(id),
            event_id TEXT NOT NULL UNIQUE,
            at TEXT NOT NULL,
            actor TEXT,
            action TEXT NOT NULL,
            status TEXT NOT NULL,
            note TEXT
        )"""
    )
    db.execute("CREATE INDEX aid_history_request ON aid_history (request_id, id)")
    db.execute(
        """CREATE TABLE aid_offers (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL UNIQUE,
            request_id INTEGER REFERENCES aid_requests(id),
            offerer TEXT,
            room_id TEXT NOT NULL,
            lang TEXT NOT NULL,
            category TEXT,
            city TEXT NOT NULL DEFAULT '',
            country TEXT,
            until TEXT,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE aid_matches (
            offer_id INTEGER NOT NULL REFERENCES aid_offers(id),
            request_id INTEGER NOT NULL REFERENCES aid_requests(id),
            created_at TEXT NOT NULL,
            PRIMARY KEY (offer_id, request_id)
        )"""
    )
    db.execute(
        """CREATE TABLE aid_coordinator_rooms (
            room_id TEXT PRIMARY KEY,
            added_by TEXT NOT NULL,
            added_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE aid_nudges (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id INTEGER NOT NULL REFERENCES aid_requests(id),
            kind TEXT NOT NULL,
            stamp TEXT NOT NULL,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            UNIQUE (request_id, kind, stamp)
        )"""
    )
    db.execute(
        """CREATE TABLE aid_dm_rooms (
            user_id TEXT PRIMARY KEY,
            room_id TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )


@migrations()
def m002_offer_withdrawn(db: Any) -> None:
    """A standing offer may be withdrawn before its end date."""
    db.execute("ALTER TABLE aid_offers ADD COLUMN withdrawn_at TEXT")


@migrations()
def m003_public_ids(db: Any) -> None:
    """Requests are shown by a short random id that tells nothing of order or count; the
    numbers already shown stay the ids of the requests made before."""
    db.execute("ALTER TABLE aid_requests ADD COLUMN public_id TEXT")
    db.execute("UPDATE aid_requests SET public_id = CAST(id AS TEXT)")
    db.execute("CREATE UNIQUE INDEX aid_requests_public_id ON aid_requests (public_id)")


# --- requests --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AidRequest:
    id: str  # what members see and type (#k3m9); random, so it tells no order nor count
    key: int  # the row, for the tables that refer to it; never shown
    event_id: str
    room_id: str
    lang: str
    requester: str | None
    category: str
    urgency: str
    city: str
    country: str
    needed_by: datetime | None
    description: str
    visibility: str
    notify_dm: bool
    status: str
    claimer: str | None
    claim_room: str | None
    duplicate_of: int | None
    outcome_note: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    forgotten_at: datetime | None

    @property
    def private(self) -> bool:
        """Coordinators-only and anonymous requests never leave the coordinators' rooms."""
        return self.visibility != "network"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def location(self) -> str:
        return f"{self.city}, {self.country}" if self.city else self.country


@dataclass(frozen=True)
class NewRequest:
    event_id: str
    room_id: str
    lang: str
    requester: str
    category: str
    urgency: str
    city: str
    country: str
    needed_by: datetime | None
    description: str
    visibility: str
    notify_dm: bool


def _opt_time(value: str | None) -> datetime | None:
    return from_iso(value) if value else None


def _request(row: dict[str, Any]) -> AidRequest:
    return AidRequest(
        id=row["public_id"] or str(row["id"]),
        key=row["id"],
        event_id=row["event_id"],
        room_id=row["room_id"],
        lang=row["lang"],
        requester=row["requester"],
        category=row["category"],
        urgency=row["urgency"],
        city=row["city"],
        country=row["country"],
        needed_by=_opt_time(row["needed_by"]),
        description=row["description"],
        visibility=row["visibility"],
        notify_dm=bool(row["notify_dm"]),
        status=row["status"],
        claimer=row["claimer"],
        claim_room=row["claim_room"],
        duplicate_of=row["duplicate_of"],
        outcome_note=row["outcome_note"],
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
        closed_at=_opt_time(row["closed_at"]),
        forgotten_at=_opt_time(row["forgotten_at"]),
    )


def create_request(
    db: Database, new: NewRequest, now: datetime, reserved: frozenset[str] = frozenset()
) -> tuple[AidRequest, bool]:
    """Store a request and its first history entry; (request, created). A replay returns the
    stored request with ``created`` False."""
    existing = request_by_event(db, new.event_id)
    if existing is not None:
        return existing, False
    with db.transaction():
        public_id = new_id(lambda ref: ref in reserved or request_by_ref(db, ref) is not None)
        cursor = db.execute(
            """INSERT INTO aid_requests (public_id, event_id, room_id, lang, requester, category,
                urgency, city, country, needed_by, description, visibility, notify_dm, status,
                created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)""",
            (
                public_id,
                new.event_id,
                new.room_id,
                new.lang,
                new.requester,
                new.category,
                new.urgency,
                new.city,
                new.country,
                iso(new.needed_by) if new.needed_by else None,
                new.description,
                new.visibility,
                int(new.notify_dm),
                iso(now),
                iso(now),
            ),
        )
        request_id = int(cursor.lastrowid or 0)
        _add_history(db, request_id, new.event_id, now, new.requester, "created", "open", None)
    request = get_request(db, request_id)
    assert request is not None
    return request, True


def get_request(db: Database, request_id: int) -> AidRequest | None:
    """By the row's key (what other tables refer to)."""
    row = db.query_one("SELECT * FROM aid_requests WHERE id = ?", (request_id,))
    return _request(row) if row else None


def request_by_ref(db: Database, ref: str) -> AidRequest | None:
    """By the id members see and type."""
    row = db.query_one("SELECT * FROM aid_requests WHERE public_id = ?", (ref,))
    return _request(row) if row else None


def request_by_event(db: Database, event_id: str) -> AidRequest | None:
    row = db.query_one("SELECT * FROM aid_requests WHERE event_id = ?", (event_id,))
    return _request(row) if row else None


def all_requests(db: Database) -> list[AidRequest]:
    return [_request(r) for r in db.query("SELECT * FROM aid_requests ORDER BY created_at, id")]


def active_requests(db: Database) -> list[AidRequest]:
    """Requests still open, in progress or partly fulfilled, oldest first."""
    rows = db.query(
        "SELECT * FROM aid_requests WHERE status IN ('open', 'in_progress', 'partial') ORDER BY id"
    )
    return [_request(r) for r in rows]


def same_request(db: Database, request: AidRequest) -> AidRequest | None:
    """An earlier active request by the same person, of the same category, with the same words
    (case and spacing aside): most likely the same need sent twice."""
    if request.requester is None:
        return None
    wanted = " ".join(request.description.casefold().split())
    rows = db.query(
        "SELECT * FROM aid_requests WHERE requester = ? AND category = ? AND id < ? "
        "AND status IN ('open', 'in_progress', 'partial') ORDER BY id DESC",
        (request.requester, request.category, request.key),
    )
    for row in rows:
        if " ".join(str(row["description"]).casefold().split()) == wanted:
            return _request(row)
    return None


def active_requests_in(db: Database, category: str, country: str) -> list[AidRequest]:
    rows = db.query(
        "SELECT * FROM aid_requests WHERE status IN ('open', 'in_progress', 'partial') "
        "AND category = ? AND lower(country) = lower(?) ORDER BY id",
        (category, country),
    )
    return [_request(r) for r in rows]


# --- history and lifecycle ---------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    request_id: int
    event_id: str
    at: datetime
    actor: str | None
    action: str
    status: str
    note: str | None


def _history(row: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        id=row["id"],
        request_id=row["request_id"],
        event_id=row["event_id"],
        at=from_iso(row["at"]),
        actor=row["actor"],
        action=row["action"],
        status=row["status"],
        note=row["note"],
    )


def _add_history(
    db: Database,
    request_id: int,
    event_id: str,
    now: datetime,
    actor: str | None,
    action: str,
    status: str,
    note: str | None,
) -> int:
    cursor = db.execute(
        "INSERT INTO aid_history (request_id, event_id, at, actor, action, status, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (request_id, event_id, iso(now), actor, action, status, note),
    )
    return int(cursor.lastrowid or 0)


def history(db: Database, request_id: int) -> list[HistoryEntry]:
    rows = db.query("SELECT * FROM aid_history WHERE request_id = ? ORDER BY id", (request_id,))
    return [_history(r) for r in rows]


def history_by_event(db: Database, event_id: str) -> HistoryEntry | None:
    row = db.query_one("SELECT * FROM aid_history WHERE event_id = ?", (event_id,))
    return _history(row) if row else None


def change(
    db: Database,
    request_id: int,
    *,
    event_id: str,
    actor: str | None,
    action: str,
    status: str,
    note: str | None,
    now: datetime,
    expect: tuple[str, ...],
    claimer: str | None = None,
    claim_room: str | None = None,
    duplicate_of: int | None = None,
) -> HistoryEntry | None:
    """Move a request to ``status`` if it is still in one of ``expect``; None if it was not.

    The check and the write are one transaction, so two helpers claiming at once cannot both win.
    """
    closing = status in TERMINAL
    with db.transaction():
        row = db.query_one("SELECT status FROM aid_requests WHERE id = ?", (request_id,))
        if row is None or row["status"] not in expect:
            return None
        db.execute(
            """UPDATE aid_requests SET status = ?, updated_at = ?,
                claimer = COALESCE(?, claimer), claim_room = COALESCE(?, claim_room),
                duplicate_of = COALESCE(?, duplicate_of),
                outcome_note = CASE WHEN ? THEN ? ELSE outcome_note END,
                closed_at = CASE WHEN ? THEN ? ELSE closed_at END
               WHERE id = ?""",
            (
                status,
                iso(now),
                claimer,
                claim_room,
                duplicate_of,
                closing,
                note,
                closing,
                iso(now),
                request_id,
            ),
        )
        history_id = _add_history(db, request_id, event_id, now, actor, action, status, note)
    entry = db.query_one("SELECT * FROM aid_history WHERE id = ?", (history_id,))
    assert entry is not None
    return _history(entry)


def forget(db: Database, request_id: int, *, event_id: str, actor: str, now: datetime) -> bool:
    """Erase the personal parts of a closed request; category, country, dates and outcome stay."""
    with db.transaction():
        row = db.query_one(
            "SELECT status, forgotten_at FROM aid_requests WHERE id = ?", (request_id,)
        )
        if row is None or row["status"] not in TERMINAL or row["forgotten_at"]:
            return False
        db.execute(
            """UPDATE aid_requests SET requester = NULL, city = '', description = '',
                claimer = NULL, claim_room = NULL, outcome_note = NULL, room_id = '',
                forgotten_at = ? WHERE id = ?""",
            (iso(now), request_id),
        )
        db.execute(
            "UPDATE aid_history SET actor = NULL, note = NULL WHERE request_id = ?",
            (request_id,),
        )
        db.execute(
            "UPDATE aid_offers SET offerer = NULL, text = '' WHERE request_id = ?", (request_id,)
        )
        _add_history(db, request_id, event_id, now, None, "forgotten", row["status"], None)
    return True


# --- offers and matches ------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    id: int
    event_id: str
    request_id: int | None
    offerer: str | None
    room_id: str
    lang: str
    category: str | None
    city: str
    country: str | None
    until: datetime | None
    text: str
    created_at: datetime

    @property
    def location(self) -> str:
        if not self.country:
            return ""
        return f"{self.city}, {self.country}" if self.city else self.country


def _offer(row: dict[str, Any]) -> Offer:
    return Offer(
        id=row["id"],
        event_id=row["event_id"],
        request_id=row["request_id"],
        offerer=row["offerer"],
        room_id=row["room_id"],
        lang=row["lang"],
        category=row["category"],
        city=row["city"],
        country=row["country"],
        until=_opt_time(row["until"]),
        text=row["text"],
        created_at=from_iso(row["created_at"]),
    )


def add_offer(
    db: Database,
    *,
    event_id: str,
    request_id: int | None,
    offerer: str,
    room_id: str,
    lang: str,
    category: str | None,
    city: str,
    country: str | None,
    until: datetime | None,
    text: str,
    now: datetime,
) -> tuple[Offer, bool]:
    """Store an offer (on a request, or standing when ``request_id`` is None); replay-safe."""
    row = db.query_one("SELECT * FROM aid_offers WHERE event_id = ?", (event_id,))
    if row is not None:
        return _offer(row), False
    with db.transaction():
        cursor = db.execute(
            """INSERT INTO aid_offers (event_id, request_id, offerer, room_id, lang, category,
                city, country, until, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                event_id,
                request_id,
                offerer,
                room_id,
                lang,
                category,
                city,
                country,
                iso(until) if until else None,
                text,
                iso(now),
            ),
        )
        offer_id = int(cursor.lastrowid or 0)
        if request_id is not None:
            db.execute(
                "UPDATE aid_requests SET updated_at = ? WHERE id = ?", (iso(now), request_id)
            )
            _add_history(
                db, request_id, event_id, now, offerer, "offer", _status(db, request_id), text
            )
    fresh = db.query_one("SELECT * FROM aid_offers WHERE id = ?", (offer_id,))
    assert fresh is not None
    return _offer(fresh), True


def _status(db: Database, request_id: int) -> str:
    row = db.query_one("SELECT status FROM aid_requests WHERE id = ?", (request_id,))
    return str(row["status"]) if row else "open"


def offers_on(db: Database, request_id: int) -> list[Offer]:
    rows = db.query("SELECT * FROM aid_offers WHERE request_id = ? ORDER BY id", (request_id,))
    return [_offer(r) for r in rows]


def standing_offers(db: Database, now: datetime) -> list[Offer]:
    rows = db.query(
        "SELECT * FROM aid_offers WHERE request_id IS NULL AND (until IS NULL OR until >= ?) "
        "AND withdrawn_at IS NULL ORDER BY id",
        (iso(now),),
    )
    return [_offer(r) for r in rows]


def standing_offer(db: Database, offer_id: int, now: datetime) -> Offer | None:
    """A standing offer that is still valid (not past its date, not withdrawn)."""
    return next((o for o in standing_offers(db, now) if o.id == offer_id), None)


def withdraw_offer(db: Database, offer_id: int, now: datetime) -> bool:
    cursor = db.execute(
        "UPDATE aid_offers SET withdrawn_at = ? WHERE id = ? AND request_id IS NULL "
        "AND withdrawn_at IS NULL",
        (iso(now), offer_id),
    )
    return cursor.rowcount > 0


def standing_offers_in(db: Database, category: str, country: str, now: datetime) -> list[Offer]:
    return [
        o
        for o in standing_offers(db, now)
        if o.category == category and (o.country or "").casefold() == country.casefold()
    ]


def record_match(db: Database, offer_id: int, request_id: int, now: datetime) -> None:
    db.execute(
        "INSERT OR IGNORE INTO aid_matches (offer_id, request_id, created_at) VALUES (?, ?, ?)",
        (offer_id, request_id, iso(now)),
    )


def matches(db: Database) -> list[tuple[int, int]]:
    rows = db.query("SELECT offer_id, request_id FROM aid_matches ORDER BY offer_id, request_id")
    return [(r["offer_id"], r["request_id"]) for r in rows]


# --- coordinators' rooms and direct rooms --------------------------------------------------------


def add_coordinator_room(db: Database, room_id: str, added_by: str, now: datetime) -> bool:
    cursor = db.execute(
        "INSERT OR IGNORE INTO aid_coordinator_rooms (room_id, added_by, added_at) "
        "VALUES (?, ?, ?)",
        (room_id, added_by, iso(now)),
    )
    return cursor.rowcount > 0


def remove_coordinator_room(db: Database, room_id: str) -> bool:
    cursor = db.execute("DELETE FROM aid_coordinator_rooms WHERE room_id = ?", (room_id,))
    return cursor.rowcount > 0


def coordinator_rooms(db: Database) -> list[str]:
    rows = db.query("SELECT room_id FROM aid_coordinator_rooms ORDER BY added_at, room_id")
    return [r["room_id"] for r in rows]


def dm_room(db: Database, user_id: str) -> str | None:
    row = db.query_one("SELECT room_id FROM aid_dm_rooms WHERE user_id = ?", (user_id,))
    return str(row["room_id"]) if row else None


def set_dm_room(db: Database, user_id: str, room_id: str, now: datetime) -> None:
    db.execute(
        "INSERT INTO aid_dm_rooms (user_id, room_id, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT(user_id) DO UPDATE SET room_id = excluded.room_id",
        (user_id, room_id, iso(now)),
    )


# --- the daily check: expiry and stale nudges ------------------------------------------------------


@dataclass(frozen=True)
class Nudge:
    id: int
    request_id: int
    kind: str  # expired | stale_claimer | stale_coordinators
    stamp: str
    created_at: datetime
    sent_at: datetime | None


def _nudge(row: dict[str, Any]) -> Nudge:
    return Nudge(
        id=row["id"],
        request_id=row["request_id"],
        kind=row["kind"],
        stamp=row["stamp"],
        created_at=from_iso(row["created_at"]),
        sent_at=_opt_time(row["sent_at"]),
    )


def plan_checks(db: Database, now: datetime, stale_after: float) -> None:
    """Record, in one transaction, every expiry and nudge now due (each at most once).

    A nudge is keyed by the request's last update, so a request that moves again and then
    stalls again is nudged again, while a restart never repeats one.
    """
    moment = iso(now)
    with db.transaction():
        for row in db.query(
            "SELECT id, needed_by FROM aid_requests WHERE status = 'open' "
            "AND needed_by IS NOT NULL AND needed_by < ?",
            (moment,),
        ):
            db.execute(
                "UPDATE aid_requests SET status = 'expired', updated_at = ?, closed_at = ? "
                "WHERE id = ?",
                (moment, moment, row["id"]),
            )
            _add_history(
                db, row["id"], f"aid:expire:{row['id']}", now, None, "expired", "expired", None
            )
            _insert_nudge(db, row["id"], "expired", row["needed_by"], now)
        for row in db.query(
            "SELECT id, updated_at FROM aid_requests WHERE status IN ('in_progress', 'partial')"
        ):
            idle = (now - from_iso(row["updated_at"])).total_seconds()
            if idle < stale_after:
                continue
            first = db.query_one(
                "SELECT created_at FROM aid_nudges WHERE request_id = ? AND kind = "
                "'stale_claimer' AND stamp = ?",
                (row["id"], row["updated_at"]),
            )
            if first is None:
                _insert_nudge(db, row["id"], "stale_claimer", row["updated_at"], now)
            elif (now - from_iso(first["created_at"])).total_seconds() >= stale_after:
                _insert_nudge(db, row["id"], "stale_coordinators", row["updated_at"], now)


def _insert_nudge(db: Database, request_id: int, kind: str, stamp: str, now: datetime) -> None:
    db.execute(
        "INSERT OR IGNORE INTO aid_nudges (request_id, kind, stamp, created_at) "
        "VALUES (?, ?, ?, ?)",
        (request_id, kind, stamp, iso(now)),
    )


def unsent_nudges(db: Database) -> list[Nudge]:
    rows = db.query("SELECT * FROM aid_nudges WHERE sent_at IS NULL ORDER BY id")
    return [_nudge(r) for r in rows]


def all_nudges(db: Database) -> list[Nudge]:
    return [_nudge(r) for r in db.query("SELECT * FROM aid_nudges ORDER BY id")]


def mark_nudge_sent(db: Database, nudge_id: int, now: datetime) -> None:
    db.execute("UPDATE aid_nudges SET sent_at = ? WHERE id = ?", (iso(now), nudge_id))


# --- data rights: !forget me and the operator's export ----------------------------------------

FORGET_KEEPS = (
    N_(
        "Aid requests you made stay for the coordinators' records, anonymised: only category, country, urgency, dates and outcome remain; those still open are closed."
    ),
    N_(
        "Aid requests you claimed or offered help on keep their history, with your name and your notes erased."
    ),
)


def forget_user(db: Database, user_id: str) -> dict[str, int]:
    """Erase a member from the aid desk in one transaction.

    Their standing offers and their direct-chat record go; their requests are anonymised as
    ``!aid forget`` does (and closed if still active, since nobody can follow them up any
    more); on other requests their name, notes and offer texts are erased while the other
    people's entries stay, and a claim they held is released. The ids of their command events
    are replaced, so no stored row points at their events on the homeserver any more.
    """
    moment = utcnow()
    now = iso(moment)
    with db.transaction():
        standing = [
            r["id"]
            for r in db.query(
                "SELECT id FROM aid_offers WHERE offerer = ? AND request_id IS NULL", (user_id,)
            )
        ]
        for offer_id in standing:
            db.execute("DELETE FROM aid_matches WHERE offer_id = ?", (offer_id,))
            db.execute("DELETE FROM aid_offers WHERE id = ?", (offer_id,))
        offers = db.execute(
            "UPDATE aid_offers SET offerer = NULL, text = '', event_id = 'forgotten:offer:' || id "
            "WHERE offerer = ?",
            (user_id,),
        ).rowcount
        entries = db.execute(
            "UPDATE aid_history SET actor = '', note = NULL, "
            "event_id = 'forgotten:history:' || id WHERE actor = ?",
            (user_id,),
        ).rowcount
        own = db.query("SELECT id, status FROM aid_requests WHERE requester = ?", (user_id,))
        for row in own:
            status = "closed" if row["status"] in ACTIVE else row["status"]
            db.execute(
                """UPDATE aid_requests SET requester = NULL, city = '', description = '',
                    claimer = NULL, claim_room = NULL, outcome_note = NULL, room_id = '',
                    event_id = 'forgotten:request:' || id, status = ?, updated_at = ?,
                    closed_at = COALESCE(closed_at, ?), forgotten_at = COALESCE(forgotten_at, ?)
                   WHERE id = ?""",
                (status, now, now, now, row["id"]),
            )
            db.execute(
                "UPDATE aid_history SET actor = NULL, note = NULL WHERE request_id = ?",
                (row["id"],),
            )
            db.execute(
                "UPDATE aid_offers SET offerer = NULL, text = '' WHERE request_id = ?",
                (row["id"],),
            )
            _add_history(
                db, row["id"], f"forgotten:request:{row['id']}:{now}", moment, None,
                "forgotten", status, None,
            )  # fmt: skip
        claimed = db.query("SELECT id, status FROM aid_requests WHERE claimer = ?", (user_id,))
        for row in claimed:
            # an abandoned claim would block the request: 'claim' only takes open ones
            status = "open" if row["status"] == "in_progress" else row["status"]
            db.execute(
                "UPDATE aid_requests SET claimer = NULL, claim_room = NULL, status = ?, "
                "updated_at = ? WHERE id = ?",
                (status, now, row["id"]),
            )
            _add_history(
                db, row["id"], f"forgotten:claim:{row['id']}:{now}", moment, None,
                "forgotten", status, None,
            )  # fmt: skip
        direct = db.execute("DELETE FROM aid_dm_rooms WHERE user_id = ?", (user_id,)).rowcount
        rooms_added = db.execute(
            "UPDATE aid_coordinator_rooms SET added_by = '' WHERE added_by = ?", (user_id,)
        ).rowcount
    return {
        N_("standing offers"): len(standing),
        N_("offers on aid requests (anonymised)"): offers,
        N_("aid requests you made (anonymised)"): len(own),
        N_("aid requests you had claimed (your claim removed)"): len(claimed),
        N_("your name in aid request histories"): entries,
        N_("record of your direct chat with me"): direct,
        N_("your name on coordinators' rooms you added"): rooms_added,
    }


def export_rows(db: Database, viewers: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    """The aid requests the configured bot admins may see, for ``liaison export``.

    Bot admins see every request (with no admin configured, only ``network`` ones), but an
    anonymous request never names who asked, nor the room or event that would tell.
    """
    rows: list[dict[str, Any]] = []
    for request in all_requests(db):
        if not viewers and request.private:
            continue
        anonymous = request.visibility == "anonymous"
        rows.append(
            {
                "id": request.id,
                "status": request.status,
                "category": request.category,
                "urgency": request.urgency,
                "city": request.city,
                "country": request.country,
                "needed_by": iso(request.needed_by) if request.needed_by else None,
                "visibility": request.visibility,
                "requester": None if anonymous else request.requester,
                "room_id": None if anonymous or not request.room_id else request.room_id,
                "claimer": request.claimer,
                "description": request.description,
                "outcome_note": request.outcome_note,
                "created_at": iso(request.created_at),
                "updated_at": iso(request.updated_at),
                "closed_at": iso(request.closed_at) if request.closed_at else None,
                "forgotten_at": iso(request.forgotten_at) if request.forgotten_at else None,
            }
        )
    return {"aid_requests": rows}
