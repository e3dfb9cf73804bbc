"""The mutual aid desk's rules: who may claim and change a request, what each room may see."""

from __future__ import annotations

import csv
import io
import itertools

import pytest

from bot.aid import store
from bot.aid.privacy import UNKNOWN_REQUEST
from bot.aid.service import NOT_YOURS, Command, MutualAid
from bot.aid.store import AidRequest, HistoryEntry
from bot.core.errors import CommandError, UsageError
from bot.core.router import split_command
from bot.core.storage.database import Database
from tests.support import services
from tests.support.services import BOT, World

ALICE = "@alice:test"  # asks
BOB = "@bob:test"  # helps
CAROL = "@carol:test"  # a member with no part in the request
COORD = "@coord:test"  # sits in the coordinators' room
ADMIN = "@admin:test"  # a bot admin

ROOM = "!square:test"  # a shared room
COORD_ROOM = "!coord:test"  # coordinators' room by configuration
ALICE_DM = "!alice-dm:test"  # Alice and the bot only

_events = itertools.count(1)


def typed(sender: str, text: str = "", *, room: str = ROOM, event_id: str | None = None) -> Command:
    """The command as the router hands it over (``!aid <verb> <text>``)."""
    parsed = split_command(f"!aid verb {text}", "!")
    assert parsed is not None
    return Command(
        event_id=event_id or f"$cmd{next(_events)}",
        room_id=room,
        sender=sender,
        lang="en",
        args=parsed.args,
        rest=parsed.rest,
    )


@pytest.fixture
def w(fresh_db: Database) -> World:
    config = services.make_config(admins=[ADMIN], coordinator_rooms=[COORD_ROOM])
    made = services.world(fresh_db, config)
    made.fake.room_members[COORD_ROOM] = [BOT, COORD]
    made.fake.room_members[ALICE_DM] = [BOT, ALICE]
    made.fake.room_members[ROOM] = [BOT, ALICE, BOB, CAROL, COORD]
    return made


@pytest.fixture
def aid(w: World) -> MutualAid:
    return services.mutual_aid(w)


def ask(
    aid: MutualAid,
    text: str = 'housing "this week" "Lyon, France" Bed for two nights',
    *,
    sender: str = ALICE,
    room: str = ROOM,
) -> AidRequest:
    return aid.submit(typed(sender, text, room=room))


def status_of(aid: MutualAid, request: AidRequest) -> str:
    found = store.request_by_ref(aid.db, request.id)
    assert found is not None
    return found.status


# ---- claiming ----------------------------------------------------------------------------------


async def test_nobody_claims_their_own_request(aid: MutualAid) -> None:
    mine = ask(aid)

    with pytest.raises(CommandError) as refused:
        await aid.claim(typed(ALICE, f"{mine.id}"))

    assert services.refusal(refused.value) == (
        "You cannot claim your own request {id}.",
        {"id": f"#{mine.id}"},
    )
    assert status_of(aid, mine) == "open"
    assert [e.action for e in store.history(aid.db, mine.key)] == ["created"]


async def test_a_claim_tells_the_requester_where_they_asked(aid: MutualAid, w: World) -> None:
    need = ask(aid)

    entry = await aid.claim(typed(BOB, f"{need.id} on my way", room=COORD_ROOM))

    assert (entry.action, entry.status, entry.actor, entry.note) == (
        "claim",
        "in_progress",
        BOB,
        "on my way",
    )
    claimed = store.request_by_ref(aid.db, need.id)
    assert claimed is not None
    assert (claimed.claimer, claimed.claim_room) == (BOB, COORD_ROOM)
    told = w.sent_to(ROOM)
    assert len(told) == 1
    assert told[0].content["m.mentions"] == {"user_ids": [ALICE]}
    assert f"#{need.id}" in told[0].content["body"]
    assert BOB in told[0].content["body"]


async def test_only_an_open_request_can_be_claimed(aid: MutualAid) -> None:
    need = ask(aid)
    await aid.claim(typed(BOB, f"{need.id}"))

    with pytest.raises(CommandError) as refused:
        await aid.claim(typed(CAROL, f"{need.id}"))

    assert services.refusal(refused.value) == (
        "Aid request {id} is not open any more ({status}).",
        {"id": f"#{need.id}", "status": "in progress"},
    )
    claimed = store.request_by_ref(aid.db, need.id)
    assert claimed is not None
    assert claimed.claimer == BOB


async def test_a_replayed_claim_changes_nothing_and_returns_the_first_entry(
    aid: MutualAid, w: World
) -> None:
    need = ask(aid)
    first = await aid.claim(typed(BOB, f"{need.id}", event_id="$claim"))
    history = store.history(aid.db, need.key)
    told = len(w.fake.sent)

    again = await aid.claim(typed(BOB, f"{need.id}", event_id="$claim"))

    assert again == first
    assert store.history(aid.db, need.key) == history
    assert len(w.fake.sent) == told  # the same notice is not posted twice


def test_a_replayed_request_returns_the_one_it_recorded(aid: MutualAid) -> None:
    text = 'legal today "Tunis, Tunisia" A lawyer for a hearing'
    first = aid.submit(typed(ALICE, text, event_id="$ask"))

    again = aid.submit(typed(ALICE, text, event_id="$ask"))

    assert again == first
    assert len(store.all_requests(aid.db)) == 1


# ---- changing and closing ----------------------------------------------------------------------


async def change(aid: MutualAid, verb: str, cmd: Command) -> HistoryEntry:
    if verb == "close":
        return await aid.close(cmd)
    return await aid.progress(cmd, verb)


@pytest.mark.parametrize("verb", ["update", "partial", "close"])
async def test_a_stranger_may_not_change_a_request_and_reads_the_same_refusal(
    aid: MutualAid, verb: str
) -> None:
    need = ask(aid)
    await aid.claim(typed(BOB, f"{need.id}"))
    cmd = typed(CAROL, f"{need.id} fulfilled" if verb == "close" else f"{need.id} news")

    with pytest.raises(CommandError) as refused:
        await change(aid, verb, cmd)

    assert services.refusal(refused.value) == (NOT_YOURS, {"id": f"#{need.id}"})
    assert status_of(aid, need) == "in_progress"
    assert [e.action for e in store.history(aid.db, need.key)] == ["created", "claim"]


@pytest.mark.parametrize("who", [ALICE, BOB, COORD, ADMIN])
async def test_requester_claimer_coordinator_and_bot_admin_may_change_it(
    aid: MutualAid, who: str
) -> None:
    need = ask(aid)
    await aid.claim(typed(BOB, f"{need.id}"))

    news = await aid.progress(typed(who, f"{need.id} Van found"), "update")
    part = await aid.progress(typed(who, f"{need.id} One night covered"), "partial")
    closed = await aid.close(typed(who, f"{need.id} fulfilled Housed"))

    assert (news.actor, news.status, news.note) == (who, "in_progress", "Van found")
    assert (part.actor, part.status) == (who, "partial")
    assert (closed.actor, closed.status, closed.note) == (who, "fulfilled", "Housed")
    final = store.request_by_ref(aid.db, need.id)
    assert final is not None
    assert (final.status, final.outcome_note) == ("fulfilled", "Housed")
    assert final.closed_at is not None


async def test_a_closed_request_cannot_be_closed_again(aid: MutualAid) -> None:
    need = ask(aid)
    await aid.close(typed(ALICE, f"{need.id} closed"))

    with pytest.raises(CommandError) as refused:
        await aid.close(typed(ALICE, f"{need.id} fulfilled"))

    assert services.refusal(refused.value) == (
        "Aid request {id} is already closed ({status}).",
        {"id": f"#{need.id}", "status": "closed"},
    )
    assert status_of(aid, need) == "closed"


async def test_a_replayed_close_returns_the_first_entry_instead_of_a_refusal(
    aid: MutualAid,
) -> None:
    need = ask(aid)
    first = await aid.close(typed(ALICE, f"{need.id} fulfilled", event_id="$close"))

    again = await aid.close(typed(ALICE, f"{need.id} fulfilled", event_id="$close"))

    assert again == first
    assert [e.action for e in store.history(aid.db, need.key)] == ["created", "close"]


async def test_a_request_cannot_duplicate_itself(aid: MutualAid) -> None:
    need = ask(aid)

    with pytest.raises(CommandError) as refused:
        await aid.close(typed(ALICE, f"{need.id} duplicate {need.id}"))

    assert services.refusal(refused.value) == ("A request cannot duplicate itself.", {})
    assert status_of(aid, need) == "open"


async def test_a_duplicate_points_at_the_other_request(aid: MutualAid) -> None:
    first = ask(aid)
    second = ask(aid)

    entry = await aid.close(typed(ALICE, f"{second.id} duplicate {first.id} asked twice"))

    closed = store.request_by_ref(aid.db, second.id)
    assert closed is not None
    assert (closed.status, closed.duplicate_of) == ("duplicate", first.key)
    assert entry.note == f"#{first.id} asked twice"
    assert status_of(aid, first) == "open"


async def test_an_unknown_outcome_is_a_usage_error(aid: MutualAid) -> None:
    need = ask(aid)

    with pytest.raises(UsageError) as refused:
        await aid.close(typed(ALICE, f"{need.id} solved"))

    assert refused.value.params == {"outcome": "`solved`"}
    assert status_of(aid, need) == "open"


# ---- privacy -----------------------------------------------------------------------------------


async def test_a_coordinators_only_request_is_unknown_in_a_shared_room(aid: MutualAid) -> None:
    private = ask(aid, 'legal today "Tunis, Tunisia" visibility:coordinators A lawyer')

    with pytest.raises(CommandError) as hidden:
        await aid.show(private.id, ROOM, CAROL, "en")
    with pytest.raises(CommandError) as unknown:
        await aid.show("zzzzz", ROOM, CAROL, "en")  # ids have 4 characters

    assert services.refusal(hidden.value) == (UNKNOWN_REQUEST, {"id": f"#{private.id}"})
    assert unknown.value.message == hidden.value.message
    # nor can anyone act on it from the shared room, not even the one who asked
    with pytest.raises(CommandError) as claim:
        await aid.claim(typed(BOB, f"{private.id}"))
    with pytest.raises(CommandError) as update:
        await aid.progress(typed(ALICE, f"{private.id} any news?"), "update")
    assert services.refusal(claim.value) == (UNKNOWN_REQUEST, {"id": f"#{private.id}"})
    assert services.refusal(update.value) == services.refusal(claim.value)
    assert private.id not in [r.id for r in aid.listing(ROOM, ALICE, "all")]


async def test_a_coordinators_only_request_shows_to_coordinators_and_to_its_author_alone(
    aid: MutualAid,
) -> None:
    private = ask(aid, 'legal today "Tunis, Tunisia" visibility:coordinators A lawyer')

    in_coordination = await aid.show(private.id, COORD_ROOM, COORD, "en")
    in_direct_chat = await aid.show(private.id, ALICE_DM, ALICE, "en")

    assert "A lawyer" in in_coordination
    assert "A lawyer" in in_direct_chat
    assert private.id in [r.id for r in aid.listing(COORD_ROOM, COORD, "")]
    with pytest.raises(CommandError):  # another member's direct chat is not Alice's
        await aid.show(private.id, ALICE_DM, BOB, "en")


def test_listing_filters_by_status_person_category_country_and_urgency(aid: MutualAid) -> None:
    lyon = ask(aid, 'housing "this week" "Lyon, France" Bed for two')
    quito = ask(aid, 'material today "Quito, Ecuador" A van', sender=CAROL)
    bogota = ask(aid, 'medical whenever "Bogota, Colombia" insulin', sender=BOB)
    store.change(
        aid.db,
        quito.key,
        event_id="$taken",
        actor=ALICE,
        action="claim",
        status="in_progress",
        note=None,
        now=quito.created_at,
        expect=("open",),
        claimer=ALICE,
        claim_room=ROOM,
    )
    store.change(
        aid.db,
        bogota.key,
        event_id="$done",
        actor=BOB,
        action="close",
        status="fulfilled",
        note=None,
        now=bogota.created_at,
        expect=("open",),
    )

    def ids(word: str) -> list[str]:
        return [r.id for r in aid.listing(ROOM, ALICE, word)]

    assert ids("") == [lyon.id, quito.id]  # the active ones
    assert ids("open") == [lyon.id]
    assert ids("all") == [lyon.id, quito.id, bogota.id]
    assert ids("mine") == [lyon.id, quito.id]  # asked by her, claimed by her
    assert ids("Housing") == [lyon.id]
    assert ids("france") == [lyon.id]
    assert ids("today") == [quito.id]
    assert ids("medical") == []  # closed requests leave the filtered lists
    assert ids("whenever") == []
    assert ids("colombia") == []


# ---- forgetting, export, coordinators' rooms ---------------------------------------------------


def test_an_open_request_cannot_be_erased(aid: MutualAid) -> None:
    need = ask(aid)

    with pytest.raises(CommandError) as refused:
        aid.forget(typed(ALICE, f"{need.id}"))

    assert services.refusal(refused.value) == (
        "Aid request {id} is still open: close it first, then erase it.",
        {"id": f"#{need.id}"},
    )
    kept = store.request_by_ref(aid.db, need.id)
    assert kept is not None
    assert (kept.requester, kept.description) == (ALICE, need.description)


async def test_a_closed_request_loses_its_personal_details_once(aid: MutualAid) -> None:
    need = ask(aid)
    await aid.close(typed(ALICE, f"{need.id} fulfilled Housed with a comrade"))

    assert aid.forget(typed(ALICE, f"{need.id}")) == need.id

    erased = store.request_by_ref(aid.db, need.id)
    assert erased is not None
    assert (erased.requester, erased.city, erased.description, erased.outcome_note) == (
        None,
        "",
        "",
        None,
    )
    assert (erased.category, erased.country, erased.status) == ("housing", "France", "fulfilled")
    with pytest.raises(CommandError) as again:
        aid.forget(typed(COORD, f"{need.id}"))
    assert services.refusal(again.value) == (
        "The personal details of aid request {id} were already erased.",
        {"id": f"#{need.id}"},
    )


async def test_a_stranger_may_not_erase_a_closed_request(aid: MutualAid) -> None:
    need = ask(aid)
    await aid.close(typed(ALICE, f"{need.id} closed"))

    with pytest.raises(CommandError) as refused:
        aid.forget(typed(CAROL, f"{need.id}"))

    assert services.refusal(refused.value) == (NOT_YOURS, {"id": f"#{need.id}"})
    kept = store.request_by_ref(aid.db, need.id)
    assert kept is not None
    assert kept.forgotten_at is None


async def test_only_coordinators_and_bot_admins_may_export(aid: MutualAid, w: World) -> None:
    ask(aid)

    with pytest.raises(CommandError) as refused:
        await aid.upload_export(ROOM, CAROL, "$export")

    assert services.refusal(refused.value) == (
        "Only coordinators and the bot's administrators may export requests.",
        {},
    )
    assert w.fake.uploads == []
    assert w.fake.sent == []


async def test_an_export_holds_only_what_the_room_may_see(aid: MutualAid, w: World) -> None:
    public = ask(aid)
    private = ask(aid, 'legal today "Tunis, Tunisia" visibility:coordinators A lawyer')

    in_shared = await aid.upload_export(ROOM, COORD, "$export1")
    in_coordination = await aid.upload_export(COORD_ROOM, ADMIN, "$export2")

    assert (in_shared, in_coordination) == (1, 2)
    files = [
        (s.room_id, s.content["url"]) for s in w.fake.sent if s.content.get("msgtype") == "m.file"
    ]
    assert [room for room, _ in files] == [ROOM, COORD_ROOM]
    shared, coordination = (
        [row["id"] for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))]
        for _, data in w.fake.uploads
    )
    assert shared == [str(public.id)]
    assert coordination == [str(public.id), str(private.id)]


async def test_added_coordinators_rooms_follow_the_configured_ones_and_can_be_removed(
    aid: MutualAid,
) -> None:
    await aid.add_coordinator_room("!legal:test", ADMIN)
    await aid.add_coordinator_room("!legal:test", ADMIN)  # adding twice keeps one

    assert aid.coordinator_rooms() == [COORD_ROOM, "!legal:test"]

    aid.remove_coordinator_room("!legal:test")
    assert aid.coordinator_rooms() == [COORD_ROOM]
    with pytest.raises(CommandError) as not_one:
        aid.remove_coordinator_room("!legal:test")
    assert services.refusal(not_one.value) == ("This room is not a coordinators' room.", {})


def test_a_configured_coordinators_room_cannot_be_removed_by_command(aid: MutualAid) -> None:
    with pytest.raises(CommandError) as refused:
        aid.remove_coordinator_room(COORD_ROOM)

    assert services.refusal(refused.value) == (
        "This room is a coordinators' room by configuration; remove it from aid.coordinator_rooms.",
        {},
    )
    assert aid.coordinator_rooms() == [COORD_ROOM]


async def test_an_added_room_sees_private_requests_and_stops_when_removed(
    aid: MutualAid,
) -> None:
    private = ask(aid, 'legal today "Tunis, Tunisia" visibility:anonymous A lawyer')
    assert aid.listing("!legal:test", COORD, "") == []

    # becoming a coordinators' room, it is shown the request still open at once
    assert await aid.add_coordinator_room("!legal:test", ADMIN) == 1
    assert [r.id for r in aid.listing("!legal:test", COORD, "")] == [private.id]

    aid.remove_coordinator_room("!legal:test")
    assert aid.listing("!legal:test", COORD, "") == []
