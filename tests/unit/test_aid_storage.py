"""Aid storage: replays do not create twice, claims cannot both win, nudges are recorded once."""

from __future__ import annotations

from datetime import timedelta

from bot.aid import store
from bot.core.storage.database import Database, utcnow


def new(event_id: str = "$e1") -> store.NewRequest:
    return store.NewRequest(
        event_id, "!r", "en", "@a:x", "housing", "today", "Lyon", "France", None, "bed",
        "network", False,
    )  # fmt: skip


def test_replayed_request_is_created_once(fresh_db: Database) -> None:
    first, created = store.create_request(fresh_db, new(), utcnow())
    again, created_again = store.create_request(fresh_db, new(), utcnow())
    assert (created, created_again) == (True, False)
    assert first.id == again.id
    assert len(store.all_requests(fresh_db)) == 1


def test_only_one_claim_wins(fresh_db: Database) -> None:
    request, _ = store.create_request(fresh_db, new(), utcnow())

    def claim(event_id: str, actor: str) -> store.HistoryEntry | None:
        return store.change(
            fresh_db, request.key, event_id=event_id, actor=actor, action="claim",
            status="in_progress", note=None, now=utcnow(), expect=("open",), claimer=actor,
        )  # fmt: skip

    won = claim("$c1", "@b:x")
    lost = claim("$c2", "@c:x")
    assert won is not None
    assert lost is None
    assert [h.action for h in store.history(fresh_db, request.key)] == ["created", "claim"]


def test_stale_nudges_are_planned_once_per_silence(fresh_db: Database) -> None:
    request, _ = store.create_request(fresh_db, new(), utcnow())
    start = utcnow()
    store.change(
        fresh_db, request.key, event_id="$c", actor="@b:x", action="claim",
        status="in_progress", note=None, now=start, expect=("open",), claimer="@b:x",
    )  # fmt: skip
    for seconds in (5, 6, 7):
        store.plan_checks(fresh_db, start + timedelta(seconds=seconds), 5)
    assert [n.kind for n in store.all_nudges(fresh_db)] == ["stale_claimer"]
    store.plan_checks(fresh_db, start + timedelta(seconds=12), 5)
    store.plan_checks(fresh_db, start + timedelta(seconds=13), 5)
    kinds = [n.kind for n in store.all_nudges(fresh_db)]
    assert kinds == ["stale_claimer", "stale_coordinators"]
