"""The database foundation: migrations, the processed-event ledger, room settings."""

from __future__ import annotations

from pathlib import Path

from bot.core.storage import ledger as inbox
from bot.core.storage import rooms
from bot.core.storage.database import Database
from tests.support.schema import ALL_MIGRATIONS


def test_migrations_apply_once_and_record_the_version(tmp_path: Path) -> None:
    db = Database(tmp_path / "liaison.db")
    applied = db.migrate(ALL_MIGRATIONS)
    assert applied
    version = db.schema_version()
    assert version == len(applied)
    assert db.pending_migrations(ALL_MIGRATIONS) == []
    assert db.migrate(ALL_MIGRATIONS) == []
    assert db.schema_version() == version
    db.close()
    reopened = Database(tmp_path / "liaison.db")
    assert reopened.migrate(ALL_MIGRATIONS) == []
    assert reopened.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert reopened.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert reopened.integrity_ok()


def event(event_id: str, ts: int = 1) -> inbox.InboxEvent:
    return inbox.InboxEvent(
        "!room:x", {"event_id": event_id, "origin_server_ts": ts, "type": "m.room.message"}
    )


def test_a_batch_and_its_token_are_stored_together_and_duplicates_are_dropped(
    fresh_db: Database,
) -> None:
    fresh = inbox.accept_batch(fresh_db, [event("$a"), event("$b")], "token-1")
    assert [e.source["event_id"] for e in fresh] == ["$a", "$b"]
    assert inbox.get_state(fresh_db, "next_batch") == "token-1"
    again = inbox.accept_batch(fresh_db, [event("$b"), event("$c")], "token-2")
    assert [e.source["event_id"] for e in again] == ["$c"]
    assert inbox.get_state(fresh_db, "next_batch") == "token-2"


def test_unhandled_events_survive_for_replay_and_handled_ones_lose_their_content(
    fresh_db: Database,
) -> None:
    inbox.accept_batch(fresh_db, [event("$a"), event("$b")], "t")
    inbox.mark_done(fresh_db, "$a")
    assert [e.source["event_id"] for e in inbox.pending(fresh_db)] == ["$b"]
    row = fresh_db.query_one("SELECT source FROM inbox WHERE event_id = '$a'")
    assert row is not None
    assert row["source"] is None


def test_room_settings_default_to_unset(fresh_db: Database) -> None:
    assert rooms.settings(fresh_db, "!r:x").language is None
    rooms.set_language(fresh_db, "!r:x", "ar")
    rooms.set_timezone(fresh_db, "!r:x", "Africa/Tunis")
    settings = rooms.settings(fresh_db, "!r:x")
    assert (settings.language, settings.timezone) == ("ar", "Africa/Tunis")
    assert rooms.is_known(fresh_db, "!r:x")
