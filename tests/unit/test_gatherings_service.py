"""Gatherings' rules: what a gathering needs, who may change it, RSVPs, the waiting list, lists."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from bot.core.errors import CommandError, UsageError
from bot.core.storage.database import Database
from bot.gatherings import service as gatherings_service
from bot.gatherings import store
from bot.gatherings.service import Gatherings
from bot.gatherings.store import Gathering
from bot.relay import store as relay_store
from tests.support import services
from tests.support.services import World

ALICE = "@alice:test"  # creates gatherings
BOB = "@bob:test"
CAROL = "@carol:test"
ADMIN = "@mod:test"  # a room admin (power level) in ROOM only

ROOM = "!square:test"
OTHER = "!elsewhere:test"

# Wednesday 2 December 2026, noon: the services' clock in this file
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
NOT_MANAGER = "Only the person who created {id} or an admin of the room where it was created may change it. Nothing was changed."


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock(NOW)
    monkeypatch.setattr(gatherings_service, "utcnow", fixed)
    return fixed


@pytest.fixture
def w(fresh_db: Database) -> World:
    made = services.world(fresh_db)
    made.fake.power[(ROOM, ADMIN)] = 50
    made.fake.names.update({BOB: "Bob", CAROL: "Carol"})
    return made


@pytest.fixture
def events(w: World, clock: Clock) -> Gatherings:
    return services.gatherings(w)


_commands = itertools.count(1)


def add(
    events: Gatherings,
    text: str = "Assembly | 2026-12-03 18:00 | Mujawara",
    *,
    creator: str = ALICE,
    room: str = ROOM,
    command: str | None = None,
) -> Gathering:
    return events.add(
        command_event_id=command or f"$add{next(_commands)}",
        room_id=room,
        creator=creator,
        lang="en",
        text=text,
    )


def stored(gathering: Gathering, db: Database) -> Gathering:
    found = store.get(db, gathering.id)
    assert found is not None
    return found


def rows(db: Database) -> int:
    found = db.query_one("SELECT count(*) AS n FROM gatherings")
    assert found is not None
    return int(found["n"])


# ---- adding ------------------------------------------------------------------------------------


def test_a_gathering_without_a_title_is_refused(events: Gatherings, fresh_db: Database) -> None:
    with pytest.raises(UsageError) as refused:
        add(events, "when: 2026-12-03 18:00")

    assert services.refusal(refused.value) == ("A gathering needs a title.", {})
    assert rows(fresh_db) == 0


def test_a_gathering_without_a_date_is_refused(events: Gatherings, fresh_db: Database) -> None:
    with pytest.raises(UsageError) as refused:
        add(events, "Picnic in the park")

    assert refused.value.message.startswith("A gathering needs a date")
    assert rows(fresh_db) == 0


def test_a_date_in_the_past_is_refused(events: Gatherings, fresh_db: Database) -> None:
    with pytest.raises(CommandError) as refused:
        add(events, "Assembly | 2026-11-30 18:00")

    assert refused.value.params == {"fragment": "`2026-11-30 18:00`"}
    assert rows(fresh_db) == 0


def test_a_replayed_add_returns_the_same_gathering(events: Gatherings, fresh_db: Database) -> None:
    first = add(events, command="$add")

    again = add(events, "Something else | 2026-12-09 10:00", command="$add")

    assert again == first
    assert rows(fresh_db) == 1
    assert (first.title, first.place, first.starts_at) == (
        "Assembly",
        "Mujawara",
        datetime(2026, 12, 3, 18, 0, tzinfo=UTC),
    )


# ---- who may change it -------------------------------------------------------------------------


async def test_a_stranger_may_neither_change_nor_cancel(
    events: Gatherings, fresh_db: Database
) -> None:
    gathering = add(events)

    with pytest.raises(CommandError) as edit:
        await events.change(gathering.id, CAROL, "title Party", lang="en", cause="$e")
    with pytest.raises(CommandError) as cancel:
        await events.cancel_for(gathering.id, CAROL, "$c")

    expected = (NOT_MANAGER, {"id": f"`{gathering.id}`"})
    assert services.refusal(edit.value) == expected
    assert services.refusal(cancel.value) == expected
    assert stored(gathering, fresh_db) == gathering


async def test_an_admin_of_another_room_may_not_change_it(
    events: Gatherings, w: World, fresh_db: Database
) -> None:
    gathering = add(events)
    w.fake.power[(OTHER, BOB)] = 100

    with pytest.raises(CommandError) as refused:
        await events.change(gathering.id, BOB, "title Party", lang="en", cause="$e")

    assert refused.value.message == NOT_MANAGER
    assert stored(gathering, fresh_db).title == "Assembly"


async def test_the_creator_edits_and_a_room_admin_cancels(
    events: Gatherings, fresh_db: Database
) -> None:
    gathering = add(events)

    edited = await events.change(
        gathering.id, ALICE, "title General assembly", lang="en", cause="$e"
    )
    cancelled, now_cancelled = await events.cancel_for(gathering.id, ADMIN, "$c")
    _, again = await events.cancel_for(gathering.id, ADMIN, "$c2")

    assert edited.title == "General assembly"
    assert edited.revision == gathering.revision + 1
    assert (now_cancelled, again) == (True, False)
    assert stored(gathering, fresh_db).status == "cancelled"
    assert cancelled.cancelled


async def test_a_cancelled_gathering_is_neither_edited_nor_announced(
    events: Gatherings, w: World, fresh_db: Database
) -> None:
    gathering = add(events)
    await events.cancel_for(gathering.id, ALICE, "$c")
    before = stored(gathering, fresh_db)

    with pytest.raises(CommandError) as edit:
        await events.change(gathering.id, ALICE, "title Back on", lang="en", cause="$e")
    with pytest.raises(CommandError) as announce:
        await events.announce_for(gathering.id, ROOM, ALICE)

    assert services.refusal(edit.value) == (
        "{id} is cancelled; it cannot be changed.",
        {"id": f"`{gathering.id}`"},
    )
    assert services.refusal(announce.value) == (
        "{id} is cancelled; it cannot be announced.",
        {"id": f"`{gathering.id}`"},
    )
    assert stored(gathering, fresh_db) == before
    assert store.posts(fresh_db, gathering.id) == []
    assert w.fake.sent == []


async def test_an_announcement_is_posted_once_and_recorded(
    events: Gatherings, w: World, fresh_db: Database
) -> None:
    gathering = add(events)

    _, rooms, _ = await events.announce_for(gathering.id, ROOM, ALICE)
    _, again, _ = await events.announce_for(gathering.id, ROOM, ALICE)

    assert (rooms, again) == (1, 1)
    posts = store.posts(fresh_db, gathering.id)
    assert [p.room_id for p in posts] == [ROOM]
    messages = [s for s in w.sent_to(ROOM) if s.event_type == "m.room.message"]
    assert [s.event_id for s in messages] == [posts[0].event_id]
    assert "Assembly" in messages[0].content["body"]


# ---- answers -----------------------------------------------------------------------------------


async def test_an_answer_that_is_not_yes_maybe_or_no_is_refused(
    events: Gatherings, fresh_db: Database
) -> None:
    gathering = add(events)

    with pytest.raises(UsageError) as refused:
        await events.rsvp(gathering.id, "whatever", BOB, ROOM, cause="$r")

    assert services.refusal(refused.value) == (
        "I did not understand {answer}: answer yes, maybe or no.",
        {"answer": "`whatever`"},
    )
    assert store.rsvps(fresh_db, gathering.id) == []


async def test_answers_in_other_languages_are_understood(
    events: Gatherings, fresh_db: Database
) -> None:
    gathering = add(events)

    _, _, understood = await events.rsvp(gathering.id, "peut-être", BOB, ROOM, cause="$r")

    assert understood == "maybe"
    assert [(r.user_id, r.answer) for r in store.rsvps(fresh_db, gathering.id)] == [(BOB, "maybe")]


async def test_nobody_answers_a_cancelled_gathering(events: Gatherings, fresh_db: Database) -> None:
    gathering = add(events)
    await events.cancel_for(gathering.id, ALICE, "$c")

    with pytest.raises(CommandError) as refused:
        await events.rsvp(gathering.id, "yes", BOB, ROOM, cause="$r")

    assert services.refusal(refused.value) == ("{id} is cancelled.", {"id": f"`{gathering.id}`"})
    assert store.rsvps(fresh_db, gathering.id) == []


async def test_nobody_answers_a_gathering_that_is_over(
    events: Gatherings, clock: Clock, fresh_db: Database
) -> None:
    gathering = add(events, "Assembly | 2026-12-03 18:00 | Mujawara | end: 2h")
    clock.now = datetime(2026, 12, 3, 20, 30, tzinfo=UTC)

    with pytest.raises(CommandError) as refused:
        await events.rsvp(gathering.id, "yes", BOB, ROOM, cause="$r")

    assert services.refusal(refused.value) == (
        "{id} is already over.",
        {"id": f"`{gathering.id}`"},
    )
    assert store.rsvps(fresh_db, gathering.id) == []


async def test_a_gathering_still_going_on_takes_answers(
    events: Gatherings, clock: Clock, fresh_db: Database
) -> None:
    gathering = add(events, "Assembly | 2026-12-03 18:00 | Mujawara | end: 2h")
    clock.now = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)  # started, not over

    _, answer, _ = await events.rsvp(gathering.id, "yes", BOB, ROOM, cause="$r")

    assert (answer.answer, answer.waiting) == ("yes", False)


async def test_a_full_gathering_puts_the_next_yes_on_the_waiting_list(
    events: Gatherings, w: World, fresh_db: Database
) -> None:
    gathering = add(events, "Dinner | 2026-12-05 19:00 | Kitchen | capacity: 1")

    _, alice, _ = await events.rsvp(gathering.id, "yes", ALICE, ROOM, cause="$r1")
    _, bob, _ = await events.rsvp(gathering.id, "yes", BOB, OTHER, cause="$r2")
    _, carol, _ = await events.rsvp(gathering.id, "yes", CAROL, ROOM, cause="$r3")

    assert [alice.waiting, bob.waiting, carol.waiting] == [False, True, True]
    assert w.fake.sent == []  # nobody was promoted


async def test_a_no_promotes_the_first_on_the_waiting_list_and_tells_them(
    events: Gatherings, w: World, fresh_db: Database
) -> None:
    gathering = add(events, "Dinner | 2026-12-05 19:00 | Kitchen | capacity: 1")
    await events.rsvp(gathering.id, "yes", ALICE, ROOM, cause="$r1")
    await events.rsvp(gathering.id, "yes", BOB, OTHER, cause="$r2")
    await events.rsvp(gathering.id, "yes", CAROL, ROOM, cause="$r3")

    await events.rsvp(gathering.id, "no", ALICE, ROOM, cause="$r4")

    answers = {r.user_id: (r.answer, r.waiting) for r in store.rsvps(fresh_db, gathering.id)}
    assert answers == {ALICE: ("no", False), BOB: ("yes", False), CAROL: ("yes", True)}
    told = w.fake.sent
    assert [(s.room_id, s.content["m.mentions"]) for s in told] == [(OTHER, {"user_ids": [BOB]})]
    assert "Bob" in told[0].content["body"]
    assert "Dinner" in told[0].content["body"]


def test_plain_members_may_not_see_who_answered(events: Gatherings) -> None:
    gathering = add(events)

    with pytest.raises(CommandError) as refused:
        events.who(gathering.id, CAROL, ROOM)

    assert services.refusal(refused.value) == (
        "Only the person who created {id} and room admins may see who answered.",
        {"id": f"`{gathering.id}`"},
    )


async def test_the_creator_sees_who_answered_what(events: Gatherings) -> None:
    gathering = add(events, "Dinner | 2026-12-05 19:00 | Kitchen | capacity: 1")
    await events.rsvp(gathering.id, "yes", BOB, ROOM, cause="$r1")
    await events.rsvp(gathering.id, "yes", CAROL, OTHER, cause="$r2")
    await events.rsvp(gathering.id, "no", ADMIN, ROOM, cause="$r3")

    _, answered = events.who(gathering.id, ALICE, ROOM)

    assert answered == {
        "yes": [f"Bob ({BOB})"],
        "maybe": [],
        "waiting": [f"Carol ({CAROL})"],
        "no": [f"{ADMIN} ({ADMIN})"],
    }


def test_an_unknown_id_is_named_in_the_refusal(events: Gatherings) -> None:
    with pytest.raises(CommandError) as refused:
        events.who("zz99", ALICE, ROOM)

    assert services.refusal(refused.value) == (
        "I know no gathering with the id {id}. {list} shows the upcoming ones.",
        {"id": "`zz99`", "list": "`!event list`"},
    )


# ---- lists -------------------------------------------------------------------------------------


@pytest.fixture
def programme(events: Gatherings, w: World) -> dict[str, str]:
    """Three gatherings ahead in ROOM, and some that no list in ROOM should show."""
    lyon = services.places(w).register(
        command_event_id="$place",
        creator=ALICE,
        room_id=ROOM,
        values={"name": "La Grange", "city": "Lyon", "country": "France"},
    )
    made = {
        "meeting": add(events, "Assembly | 2026-12-03 18:00 | Mujawara | kind: meeting").id,
        "training": add(events, "Workshop | 2026-12-08 10:00 | city: Lyon | kind: training").id,
        "festival": add(events, f"Fête | 2026-12-12 15:00 | place: {lyon.id} | kind: festival").id,
    }
    dropped = add(events, "Called off | 2026-12-04 18:00 | kind: meeting")
    events.db.execute("UPDATE gatherings SET status = 'cancelled' WHERE id = ?", (dropped.id,))
    add(events, "Elsewhere | 2026-12-04 18:00 | kind: meeting", room=OTHER)
    return made


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ([], ["meeting", "training", "festival"]),
        (["meetings"], ["meeting"]),
        (["this", "week"], ["meeting"]),
        (["cette", "semaine"], ["meeting"]),
        (["month"], ["meeting", "training", "festival"]),
        (["lyon"], ["training", "festival"]),
        (["training", "Lyon"], ["training"]),
        (["festival", "tunis"], []),
    ],
)
async def test_upcoming_filters_by_kind_period_and_place(
    events: Gatherings, programme: dict[str, str], words: list[str], expected: list[str]
) -> None:
    found = await events.upcoming(ROOM, "en", words, ALICE)

    assert [view.gathering.id for view in found] == [programme[name] for name in expected]


async def test_upcoming_includes_the_rooms_of_the_relay_group_for_its_stewards(
    events: Gatherings, fresh_db: Database
) -> None:
    relay_store.link(fresh_db, ROOM, "north", "en", "two-way", ALICE)
    relay_store.link(fresh_db, OTHER, "north", "fr", "two-way", BOB)
    relay_store.add_steward(fresh_db, "north", ROOM, ADMIN)  # ROOM created the group
    theirs = add(events, "Réunion | 2026-12-04 18:00", creator=BOB, room=OTHER)
    ours = add(events, "Assembly | 2026-12-05 18:00")

    # a steward of the group sees every room's gatherings, a paused room's too
    found = await events.upcoming(ROOM, "en", [], ADMIN)
    assert [view.gathering.id for view in found] == [theirs.id, ours.id]
    relay_store.set_paused(fresh_db, OTHER, True)
    found = await events.upcoming(ROOM, "en", [], ADMIN)
    assert [view.gathering.id for view in found] == [theirs.id, ours.id]
    # anyone else sees what was created in or announced into this room
    found = await events.upcoming(ROOM, "en", [], ALICE)
    assert [view.gathering.id for view in found] == [ours.id]
