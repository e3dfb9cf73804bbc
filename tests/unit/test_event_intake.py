"""Which events the bot handles: never its own, never history from before it joined."""

from __future__ import annotations

from typing import Any

from bot.core.matrix.client import SyncBatch
from bot.core.matrix.intake import EventIntake
from bot.core.storage import rooms
from bot.core.storage.database import Database

BOT = "@liaison:x"


def message(event_id: str, sender: str = "@alice:x", ts: int | None = None) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "sender": sender,
        "type": "m.room.message",
        "origin_server_ts": ts if ts is not None else 10**13,
        "content": {"msgtype": "m.text", "body": "hi"},
    }


def own_join() -> dict[str, Any]:
    return {
        "event_id": "$join",
        "sender": BOT,
        "type": "m.room.member",
        "state_key": BOT,
        "origin_server_ts": 1,
        "content": {"membership": "join"},
    }


def batch(timeline: list[dict[str, Any]], since: str | None, room: str = "!r:x") -> SyncBatch:
    return SyncBatch("next", since, {room: timeline}, {}, [])


def ids(events: list[Any]) -> list[str]:
    return [e.event_id for e in events]


def test_first_start_skips_history(fresh_db: Database) -> None:
    intake = EventIntake(fresh_db, BOT, [])
    old = message("$old", ts=intake.started_ms - 60_000)
    new = message("$new", ts=intake.started_ms + 1)
    assert ids(intake.accept(batch([old, new], since=None))) == ["$new"]


def test_own_events_are_ignored(fresh_db: Database) -> None:
    intake = EventIntake(fresh_db, BOT, [])
    intake.accept(batch([], since=None))
    accepted = intake.accept(
        batch([own_join(), message("$mine", sender=BOT), message("$theirs")], since="t")
    )
    assert ids(accepted) == ["$theirs"]


def test_a_newly_joined_room_only_counts_what_follows_the_join(fresh_db: Database) -> None:
    intake = EventIntake(fresh_db, BOT, [])
    intake.accept(batch([], since=None, room="!other:x"))
    timeline = [message("$before"), own_join(), message("$after")]
    assert ids(intake.accept(batch(timeline, since="t", room="!new:x"))) == ["$after"]
    # the room is known from now on: everything in it counts
    assert ids(intake.accept(batch([message("$later")], since="t2", room="!new:x"))) == ["$later"]


def test_redelivered_events_are_not_handled_twice(fresh_db: Database) -> None:
    intake = EventIntake(fresh_db, BOT, [])
    intake.accept(batch([], since=None))
    assert ids(intake.accept(batch([message("$a")], since="t"))) == ["$a"]
    assert ids(intake.accept(batch([message("$a"), message("$b")], since="t"))) == ["$b"]


def test_an_unwritable_database_still_lets_events_through_once(fresh_db: Database) -> None:
    intake = EventIntake(fresh_db, BOT, [])
    intake.accept(batch([], since=None))
    fresh_db.execute("PRAGMA query_only = ON")
    assert ids(intake.accept(batch([message("$a")], since="t"))) == ["$a"]
    assert intake.degraded
    assert intake.since() == "next"
    assert ids(intake.accept(batch([message("$a"), message("$b")], since="next"))) == ["$b"]
    fresh_db.execute("PRAGMA query_only = OFF")
    assert ids(intake.accept(batch([message("$c")], since="next"))) == ["$c"]
    assert not intake.degraded


def test_a_failed_batch_does_not_make_a_new_room_known(fresh_db: Database) -> None:
    intake = EventIntake(fresh_db, BOT, [])
    intake.accept(batch([], since=None, room="!other:x"))
    timeline = [message("$before"), own_join(), message("$after")]
    fresh_db.execute("PRAGMA query_only = ON")
    assert ids(intake.accept(batch(timeline, since="t", room="!new:x"))) == ["$after"]
    fresh_db.execute("PRAGMA query_only = OFF")
    assert not rooms.is_known(fresh_db, "!new:x")
    # the same batch again once writable: still only what follows the join (handled again,
    # which is safe: every send reuses its transaction id)
    assert ids(intake.accept(batch(timeline, since="t", room="!new:x"))) == ["$after"]
    assert rooms.is_known(fresh_db, "!new:x")
