"""The rooms' state kept with the sync token: always the state that token reached, or none."""

from __future__ import annotations

from typing import Any

from bot.core.matrix.client import SyncBatch
from bot.core.matrix.intake import EventIntake
from bot.core.storage import ledger, roomstate
from bot.core.storage.database import Database

BOT = "@liaison:x"


def power(room_id: str, users: dict[str, int], event_id: str) -> dict[str, Any]:
    return {
        "type": "m.room.power_levels",
        "state_key": "",
        "event_id": event_id,
        "sender": "@alice:x",
        "room_id": room_id,
        "content": {"users": users},
    }


def member(user_id: str, membership: str, event_id: str) -> dict[str, Any]:
    return {
        "type": "m.room.member",
        "state_key": user_id,
        "event_id": event_id,
        "sender": user_id,
        "content": {"membership": membership},
    }


def sync(
    since: str | None,
    token: str,
    state: dict[str, list[dict[str, Any]]],
    *,
    full: bool = False,
    left: list[str] | None = None,
) -> SyncBatch:
    return SyncBatch(
        token, since, {r: [] for r in state}, {}, left or [], state=state, full_state=full
    )


def by_key(events: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {(e["type"], e["state_key"]): e["event_id"] for e in events}


def test_nothing_is_restored_before_a_full_state_answer_was_kept(fresh_db: Database) -> None:
    assert roomstate.load(fresh_db) is None
    intake = EventIntake(fresh_db, BOT, [])
    intake.accept(sync("t0", "t1", {"!a:x": [power("!a:x", {}, "$p1")]}))
    assert roomstate.load(fresh_db) is None  # only changes: not the whole state
    # and not kept either: of no use until a full answer, and they would name people
    assert fresh_db.query("SELECT * FROM room_state") == []


def test_a_full_answer_then_changes_give_the_latest_event_per_key(fresh_db: Database) -> None:
    intake = EventIntake(fresh_db, BOT, [])
    full = {
        "!a:x": [power("!a:x", {"@alice:x": 100}, "$p1"), member("@bob:x", "join", "$m1")],
        "!b:x": [member("@carol:x", "join", "$m2")],
    }
    intake.accept(sync("t0", "t1", full, full=True))
    demoted = power("!a:x", {"@alice:x": 100, "@bob:x": 0}, "$p2")
    intake.accept(sync("t1", "t2", {"!a:x": [demoted, member("@dan:x", "join", "$m3")]}))
    stored = roomstate.load(fresh_db)
    assert stored is not None
    assert by_key(stored["!a:x"]) == {
        ("m.room.power_levels", ""): "$p2",
        ("m.room.member", "@bob:x"): "$m1",
        ("m.room.member", "@dan:x"): "$m3",
    }
    assert by_key(stored["!b:x"]) == {("m.room.member", "@carol:x"): "$m2"}
    assert ledger.get_state(fresh_db, "next_batch") == "t2"


def test_a_room_left_loses_its_state_and_a_new_full_answer_replaces_all(
    fresh_db: Database,
) -> None:
    intake = EventIntake(fresh_db, BOT, [])
    full = {"!a:x": [member("@bob:x", "join", "$m1")], "!b:x": [member("@c:x", "join", "$m2")]}
    intake.accept(sync("t0", "t1", full, full=True))
    intake.accept(sync("t1", "t2", {}, left=["!b:x"]))
    assert set(roomstate.load(fresh_db) or {}) == {"!a:x"}
    intake.accept(sync("t2", "t3", {"!c:x": [member("@e:x", "join", "$m3")]}, full=True))
    assert set(roomstate.load(fresh_db) or {}) == {"!c:x"}


def demoted_while_unwritable(db: Database) -> EventIntake:
    """bob has power 100 (kept with t1), then is demoted while nothing can be written (t2)."""
    intake = EventIntake(db, BOT, [])
    intake.accept(sync("t0", "t1", {"!a:x": [power("!a:x", {"@bob:x": 100}, "$p1")]}, full=True))
    db.execute("PRAGMA query_only = ON")
    intake.accept(sync("t1", "t2", {"!a:x": [power("!a:x", {}, "$p2")]}))
    db.execute("PRAGMA query_only = OFF")
    return intake


def test_syncs_handled_while_the_database_was_down_make_the_state_unusable(
    fresh_db: Database,
) -> None:
    intake = demoted_while_unwritable(fresh_db)
    assert intake.degraded
    intake.accept(sync("t2", "t3", {}))
    assert ledger.get_state(fresh_db, "next_batch") == "t3"
    # the stored state would say bob still has power 100: the next start asks for all of it
    assert roomstate.load(fresh_db) is None
    intake.accept(sync("t3", "t4", {"!a:x": [power("!a:x", {}, "$p3")]}, full=True))
    stored = roomstate.load(fresh_db)
    assert stored is not None
    assert by_key(stored["!a:x"]) == {("m.room.power_levels", ""): "$p3"}


def test_a_failed_write_keeps_the_old_token_and_the_old_state_together(
    fresh_db: Database,
) -> None:
    demoted_while_unwritable(fresh_db)
    # a restart now (the degraded token was only in memory): the old token, the old state,
    # and the homeserver sends the demotion again from t1
    assert ledger.get_state(fresh_db, "next_batch") == "t1"
    stored = roomstate.load(fresh_db)
    assert stored is not None
    assert by_key(stored["!a:x"]) == {("m.room.power_levels", ""): "$p1"}
