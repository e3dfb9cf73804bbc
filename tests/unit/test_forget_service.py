"""``!forget me``: nothing is erased without a fresh request, and then every feature's hook runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.errors import CommandError
from bot.core.feature import Feature
from bot.core.storage.database import Database
from bot.forget import store
from bot.forget.service import ALWAYS_KEPT, CONFIRM_WINDOW, Forgetting
from tests.support import services

ALICE = "@alice:test"
BOB = "@bob:test"
ROOM = "!square:test"
ASKED = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
NO_REQUEST = (
    "There is no request to forget you from the last {minutes} minutes, so nothing was erased. Type {ask} first.",
    {"minutes": 10, "ask": "`!forget me`"},
)


def notes_feature(db: Database) -> Feature:
    """A feature holding notes by members; forgetting one deletes theirs."""

    def forget(user_id: str) -> dict[str, int]:
        gone = db.execute("DELETE FROM notes WHERE author = ?", (user_id,)).rowcount
        return {"notes": gone}

    return Feature(name="notes", forget=forget, forget_keeps=("Notes about you by others stay.",))


def votes_feature(db: Database) -> Feature:
    """A feature that keeps votes but drops the voter's name."""

    def forget(user_id: str) -> dict[str, int]:
        return {
            "votes": db.execute("UPDATE votes SET voter = '' WHERE voter = ?", (user_id,)).rowcount
        }

    return Feature(name="votes", forget=forget, forget_keeps=("Vote counts stay.",))


@pytest.fixture
def forgetting(fresh_db: Database) -> Forgetting:
    fresh_db.execute("CREATE TABLE notes (author TEXT NOT NULL, text TEXT NOT NULL)")
    fresh_db.execute("CREATE TABLE votes (voter TEXT NOT NULL, choice TEXT NOT NULL)")
    for author, text in [(ALICE, "one"), (ALICE, "two"), (BOB, "three")]:
        fresh_db.execute("INSERT INTO notes (author, text) VALUES (?, ?)", (author, text))
    for voter, choice in [(ALICE, "yes"), (BOB, "no")]:
        fresh_db.execute("INSERT INTO votes (voter, choice) VALUES (?, ?)", (voter, choice))
    w = services.world(fresh_db)
    return services.forgetting(w, [notes_feature(fresh_db), votes_feature(fresh_db)])


def notes(db: Database) -> list[tuple[str, str]]:
    return [(r["author"], r["text"]) for r in db.query("SELECT * FROM notes ORDER BY rowid")]


def voters(db: Database) -> list[str]:
    return [r["voter"] for r in db.query("SELECT voter FROM votes ORDER BY rowid")]


def test_confirming_without_a_request_erases_nothing(
    forgetting: Forgetting, fresh_db: Database
) -> None:
    with pytest.raises(CommandError) as refused:
        forgetting.confirm(ALICE, ASKED)

    assert services.refusal(refused.value) == NO_REQUEST
    assert len(notes(fresh_db)) == 3
    assert voters(fresh_db) == [ALICE, BOB]


def test_confirming_after_the_window_erases_nothing(
    forgetting: Forgetting, fresh_db: Database
) -> None:
    forgetting.ask(ALICE, ROOM, ASKED)

    with pytest.raises(CommandError) as refused:
        forgetting.confirm(ALICE, ASKED + CONFIRM_WINDOW + timedelta(seconds=1))

    assert services.refusal(refused.value) == NO_REQUEST
    assert len(notes(fresh_db)) == 3
    assert voters(fresh_db) == [ALICE, BOB]


def test_another_members_request_does_not_count(forgetting: Forgetting, fresh_db: Database) -> None:
    forgetting.ask(BOB, ROOM, ASKED)

    with pytest.raises(CommandError):
        forgetting.confirm(ALICE, ASKED + timedelta(minutes=1))

    assert len(notes(fresh_db)) == 3


def test_confirming_in_time_erases_through_every_features_hook(
    forgetting: Forgetting, fresh_db: Database
) -> None:
    forgetting.ask(ALICE, ROOM, ASKED)

    report = forgetting.confirm(ALICE, ASKED + CONFIRM_WINDOW)

    assert report.erased == {"notes": 2, "votes": 1}
    assert report.total == 3
    assert report.kept == ("Notes about you by others stay.", "Vote counts stay.", *ALWAYS_KEPT)
    assert notes(fresh_db) == [(BOB, "three")]
    assert voters(fresh_db) == ["", BOB]


def test_a_confirmed_request_is_used_up(forgetting: Forgetting, fresh_db: Database) -> None:
    forgetting.ask(ALICE, ROOM, ASKED)
    forgetting.confirm(ALICE, ASKED + timedelta(minutes=1))

    with pytest.raises(CommandError) as refused:
        forgetting.confirm(ALICE, ASKED + timedelta(minutes=2))

    assert services.refusal(refused.value) == NO_REQUEST
    assert store.forget_request(fresh_db, ALICE) is None


def test_asking_again_starts_the_window_again(forgetting: Forgetting, fresh_db: Database) -> None:
    forgetting.ask(ALICE, ROOM, ASKED)
    forgetting.ask(ALICE, ROOM, ASKED + timedelta(minutes=8))

    report = forgetting.confirm(ALICE, ASKED + timedelta(minutes=15))

    assert report.erased["notes"] == 2


def test_stale_requests_are_dropped_when_anyone_asks(
    forgetting: Forgetting, fresh_db: Database
) -> None:
    forgetting.ask(BOB, ROOM, ASKED)

    forgetting.ask(ALICE, ROOM, ASKED + CONFIRM_WINDOW + timedelta(minutes=1))

    assert store.forget_request(fresh_db, BOB) is None
    kept = store.forget_request(fresh_db, ALICE)
    assert kept is not None
    assert (kept.room_id, kept.requested_at) == (
        ROOM,
        ASKED + CONFIRM_WINDOW + timedelta(minutes=1),
    )
