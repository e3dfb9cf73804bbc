"""The public agenda's rules: who may publish what, what a visitor may ever see, languages."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from bot.agenda.web import negotiate
from bot.core.errors import CommandError
from bot.core.storage.database import Database
from bot.gatherings import store
from bot.gatherings.public import PublicGathering
from bot.places.public import PublicPlace
from bot.relay import store as relay_store
from tests.support import services
from tests.support.services import Publishing, World

ALICE = "@alice:test"  # a member of ROOM, not an admin
ADMIN = "@mod:test"  # an admin of ROOM only
OTHER_ADMIN = "@other:test"  # an admin of OTHER only
BOT_ADMIN = "@root:test"
ROOM = "!square:test"
OTHER = "!elsewhere:test"
NOT_PUBLISHER = "Only an admin of the room where {id} was created may publish it or take it off the public agenda. Nothing was changed."
NOT_STEWARD = "Only the stewards of the relay group where {id} was created may publish it on the group's public agenda or take it off (admins of its steward rooms, listed by {command}). Nothing was changed."
NOT_STEWARD_AT_CREATION = "This room's gatherings go on the public agenda of its relay group {group}: only the group's stewards (admins of its steward rooms, listed by {command}) may publish on it. Nothing was created."
PLACE_NOT_PUBLISHER = "A place goes on the public pages only when the person who registered it publishes it and also answers for its room: a steward of the room's relay group, or an admin of the room when it is in no group (or a bot admin). Nothing was changed."
PAGES_OFF = "The public pages are not available: the bot's web server is off (web.enabled in the configuration). Nothing was changed."

_commands = itertools.count(1)


@pytest.fixture
def w(fresh_db: Database) -> World:
    made = services.world(fresh_db, services.make_config(admins=[BOT_ADMIN]))
    made.fake.power[(ROOM, ADMIN)] = 50
    made.fake.power[(OTHER, OTHER_ADMIN)] = 50
    return made


@pytest.fixture
def stack(w: World) -> Publishing:
    return services.publishing(w)


def add(stack: Publishing, text: str, *, creator: str = ALICE, lang: str = "en") -> str:
    return stack.gatherings.add(
        command_event_id=f"$add{next(_commands)}",
        room_id=ROOM,
        creator=creator,
        lang=lang,
        text=text,
    ).id


def published(db: Database, gathering_id: str) -> bool:
    found = store.get(db, gathering_id)
    assert found is not None
    return found.published


def test_only_an_admin_of_the_gatherings_own_room_publishes(stack: Publishing, w: World) -> None:
    gathering = add(stack, "Assembly | 2030-12-03 18:00 | Mujawara")
    for who in (ALICE, OTHER_ADMIN):  # its creator, an admin elsewhere
        with pytest.raises(CommandError) as refused:
            stack.gatherings.publish_for(gathering, who, public=True)
        assert services.refusal(refused.value) == (NOT_PUBLISHER, {"id": f"`{gathering}`"})
        assert not published(w.db, gathering)

    shown, changed = stack.gatherings.publish_for(gathering, ADMIN, public=True)
    assert changed
    assert shown.published
    url = stack.gatherings.public_url(shown)
    assert url is not None
    assert url.startswith("https://agenda.example.org/agenda/")
    assert url.endswith(f"/gathering/{gathering}")
    # publishing twice changes nothing; unpublishing follows the same rule
    assert stack.gatherings.publish_for(gathering, ADMIN, public=True)[1] is False
    with pytest.raises(CommandError):
        stack.gatherings.publish_for(gathering, ALICE, public=False)
    assert published(w.db, gathering)
    assert stack.gatherings.publish_for(gathering, BOT_ADMIN, public=False)[1] is True
    assert not published(w.db, gathering)


def test_in_a_relay_group_its_stewards_publish_and_a_linked_rooms_admin_does_not(
    stack: Publishing, w: World
) -> None:
    relay_store.link(w.db, ROOM, "mujawara", "fr", "two-way", ADMIN)
    relay_store.add_steward(w.db, "mujawara", ROOM, ADMIN)  # the room that created the group
    relay_store.link(w.db, OTHER, "mujawara", "es", "two-way", OTHER_ADMIN)  # joined later
    gathering = stack.gatherings.add(
        command_event_id=f"$add{next(_commands)}",
        room_id=OTHER,
        creator=OTHER_ADMIN,
        lang="es",
        text="Asamblea | 2030-12-03 18:00",
    ).id
    refusal = (NOT_STEWARD, {"id": f"`{gathering}`", "command": "`!relay list`"})

    # the linked room's own admin does not speak for the group, nor does its creator
    with pytest.raises(CommandError) as refused:
        stack.gatherings.publish_for(gathering, OTHER_ADMIN, public=True)
    assert services.refusal(refused.value) == refusal
    assert not published(w.db, gathering)
    with pytest.raises(CommandError) as refused:
        stack.gatherings.add(
            command_event_id=f"$add{next(_commands)}",
            room_id=OTHER,
            creator=OTHER_ADMIN,
            lang="es",
            text="Otra | 2030-12-04 18:00 | público: sí",
        )
    assert services.refusal(refused.value) == (
        NOT_STEWARD_AT_CREATION,
        {"group": "`mujawara`", "command": "`!relay list`"},
    )
    assert [row["title"] for row in w.db.query("SELECT title FROM gatherings")] == ["Asamblea"]

    # a steward publishes it on the group's agenda, though no admin of the room it came from
    shown, changed = stack.gatherings.publish_for(gathering, ADMIN, public=True)
    assert changed
    url = stack.gatherings.public_url(shown)
    assert url == f"{stack.agenda.address(ROOM)}/gathering/{gathering}"
    with pytest.raises(CommandError) as refused:
        stack.gatherings.publish_for(gathering, OTHER_ADMIN, public=False)
    assert services.refusal(refused.value) == refusal
    assert published(w.db, gathering)
    assert stack.gatherings.publish_for(gathering, ADMIN, public=False)[1] is True
    assert stack.gatherings.publish_for(gathering, BOT_ADMIN, public=True)[1] is True

    # a steward demoted in their steward room loses the power at once
    w.fake.power[(ROOM, ADMIN)] = 0
    with pytest.raises(CommandError):
        stack.gatherings.publish_for(gathering, ADMIN, public=False)
    assert published(w.db, gathering)


def test_a_room_joining_a_group_brings_nothing_onto_its_agenda(stack: Publishing, w: World) -> None:
    outcome = stack.desk.link(ROOM, ["mujawara", "fr"], ADMIN, "$link1")
    assert outcome.how == "created"
    # a room in no group publishes on its own agenda, then asks to join
    gathering = stack.gatherings.add(
        command_event_id=f"$add{next(_commands)}",
        room_id=OTHER,
        creator=OTHER_ADMIN,
        lang="es",
        text="Asamblea | 2030-12-03 18:00 | público: sí",
    ).id
    assert published(w.db, gathering)
    request = stack.desk.link(OTHER, ["mujawara", "es"], OTHER_ADMIN, "$link2").request
    assert request is not None
    assert published(w.db, gathering)  # nothing changes while the request waits

    *_, unpublished = stack.desk.approve(ROOM, [request.id], ADMIN)

    assert unpublished == 1
    assert not published(w.db, gathering)
    scope = stack.addresses.scope(stack.addresses.scope_key(OTHER))
    assert stack.agenda.gatherings.one(gathering, scope.room_ids) is None
    # the steward may put it on the group's agenda
    assert stack.gatherings.publish_for(gathering, ADMIN, public=True)[1] is True

    # joining with a join code takes the room's own publications off just the same
    third, third_admin = "!third:test", "@third:test"
    w.fake.power[(third, third_admin)] = 50
    theirs = stack.gatherings.add(
        command_event_id=f"$add{next(_commands)}",
        room_id=third,
        creator=third_admin,
        lang="en",
        text="Picnic | 2030-12-04 12:00 | public: yes",
    ).id
    code = stack.desk.issue_code(ROOM, [], ADMIN).code
    joined = stack.desk.link(third, ["mujawara", "en", f"code:{code}"], third_admin, "$link3")
    assert (joined.how, joined.unpublished) == ("code", 1)
    assert not published(w.db, theirs)
    assert published(w.db, gathering)  # the group's own publication stays


@pytest.mark.parametrize(
    ("field", "lang"),
    [("public: yes", "en"), ("publique: oui", "fr"), ("público: sí", "es"), ("عام: نعم", "ar")],
)
def test_public_at_creation_in_every_language(
    stack: Publishing, w: World, field: str, lang: str
) -> None:
    with pytest.raises(CommandError) as refused:
        add(stack, f"Assembly | 2030-12-03 18:00 | {field}", lang=lang)
    assert refused.value.message.startswith("Only a room admin may publish")
    assert w.db.query("SELECT id FROM gatherings") == []

    gathering = add(stack, f"Assembly | 2030-12-03 18:00 | {field}", creator=ADMIN, lang=lang)
    assert published(w.db, gathering)
    private = add(stack, "Assembly | 2030-12-04 18:00 | public: no", creator=ADMIN)
    assert not published(w.db, private)


def test_a_yes_word_that_is_not_one_is_refused(stack: Publishing, w: World) -> None:
    with pytest.raises(CommandError) as refused:
        add(stack, "Assembly | 2030-12-03 18:00 | public: perhaps", creator=ADMIN)
    assert refused.value.params == {"value": "`perhaps`"}
    assert w.db.query("SELECT id FROM gatherings") == []


def test_nothing_is_published_while_the_pages_are_off(w: World) -> None:
    stack = services.publishing(w, public_url=None)
    gathering = add(stack, "Assembly | 2030-12-03 18:00", creator=ADMIN)
    with pytest.raises(CommandError) as refused:
        stack.gatherings.publish_for(gathering, ADMIN, public=True)
    assert refused.value.message == PAGES_OFF
    assert not published(w.db, gathering)


def register(stack: Publishing, creator: str, room: str = ROOM, **values: str) -> str:
    return stack.places.register(
        command_event_id=f"$place{next(_commands)}",
        creator=creator,
        room_id=room,
        values={"name": "La Grange", **values},  # type: ignore[typeddict-item]
    ).id


def test_a_place_is_published_by_who_registered_it_when_they_answer_for_its_room(
    stack: Publishing, w: World
) -> None:
    # registered by a member: neither they alone nor the room's admin alone put it before the
    # world (its address may put people at risk)
    place = register(stack, ALICE)
    for who in (ALICE, ADMIN):
        with pytest.raises(CommandError) as refused:
            stack.places.publish(place, who, public=True)
        assert refused.value.message == PLACE_NOT_PUBLISHER
    assert not stack.places.find(place).published
    assert stack.places.publish(place, BOT_ADMIN, public=True)[1] is True
    # taking it off only hides it: its registrant or the room's admin may
    assert stack.places.publish(place, ALICE, public=False)[1] is True
    stack.places.publish(place, BOT_ADMIN, public=True)
    assert stack.places.publish(place, ADMIN, public=False)[1] is True
    with pytest.raises(CommandError):
        stack.places.publish(place, OTHER_ADMIN, public=False)

    # registered by the admin of a room in no group: published
    own = register(stack, ADMIN)
    assert stack.places.publish(own, ADMIN, public=True)[1] is True


def test_in_a_relay_group_a_place_needs_its_registrant_to_be_a_steward(
    stack: Publishing, w: World
) -> None:
    relay_store.link(w.db, ROOM, "mujawara", "fr", "two-way", ADMIN)
    relay_store.add_steward(w.db, "mujawara", ROOM, ADMIN)
    relay_store.link(w.db, OTHER, "mujawara", "es", "two-way", OTHER_ADMIN)
    theirs = register(stack, OTHER_ADMIN, OTHER)
    for who in (OTHER_ADMIN, ADMIN):  # the linked room's admin; a steward who did not register it
        with pytest.raises(CommandError) as refused:
            stack.places.publish(theirs, who, public=True)
        assert refused.value.message == PLACE_NOT_PUBLISHER
    with pytest.raises(CommandError) as refused:
        register(stack, OTHER_ADMIN, OTHER, name="Casa", public=True)  # type: ignore[arg-type]
    assert refused.value.message == PLACE_NOT_PUBLISHER
    assert [p.name for p in stack.places.listing()] == ["La Grange"]
    # a steward registering a place in a linked room publishes it on the group's agenda
    stewards = register(stack, ADMIN, OTHER)
    assert stack.places.publish(stewards, ADMIN, public=True)[1] is True


def test_the_public_view_carries_public_fields_only(stack: Publishing, w: World) -> None:
    fields = {f.name for f in dataclasses.fields(PublicGathering)}
    fields |= {f.name for f in dataclasses.fields(PublicPlace)}
    for private in ("creator", "room_id", "capacity", "contact", "command_event_id", "rsvps"):
        assert private not in fields

    place = stack.places.register(
        command_event_id="$p",
        creator=ADMIN,
        room_id=ROOM,
        values={"name": "Squat Nord", "city": "Die", "country": "FR", "contact": "x@y.z"},
    )
    gathering = add(stack, f"Picnic | 2030-12-03 12:00 | {place.id}", creator=ADMIN)
    stack.gatherings.publish_for(gathering, ADMIN, public=True)
    scope = stack.addresses.scope(stack.addresses.scope_key(ROOM))
    shown = stack.agenda.gatherings.one(gathering, scope.room_ids)
    assert shown is not None
    # an unpublished place gives its city and country, never its name
    assert (shown.place, shown.city, shown.country) == (None, "Die", "FR")
    stack.places.publish(place.id, ADMIN, public=True)
    shown = stack.agenda.gatherings.one(gathering, scope.room_ids)
    assert shown is not None
    assert shown.place is not None
    assert shown.place.name == "Squat Nord"
    # a gathering of another room is not reachable under this agenda
    assert stack.agenda.gatherings.one(gathering, [OTHER]) is None


def test_a_new_address_is_for_the_groups_stewards(stack: Publishing, w: World) -> None:
    relay_store.link(w.db, ROOM, "mujawara", "fr", "two-way", ADMIN)
    relay_store.link(w.db, OTHER, "mujawara", "es", "two-way", OTHER_ADMIN)
    relay_store.add_steward(w.db, "mujawara", ROOM, ADMIN)  # the room that created the group
    first = stack.agenda.address(OTHER)
    assert first == stack.agenda.address(ROOM)  # one agenda per group
    assert "mujawara" not in first
    with pytest.raises(CommandError):
        stack.agenda.rotate(OTHER, OTHER_ADMIN)  # an admin of a room that is no steward room
    assert stack.agenda.address(OTHER) == first
    fresh = stack.agenda.rotate(OTHER, ADMIN)
    assert fresh != first
    assert stack.addresses.resolve(first.rsplit("/", 1)[1]) is None
    assert stack.addresses.resolve(fresh.rsplit("/", 1)[1]) is not None


@pytest.mark.parametrize(
    ("query", "header", "expected"),
    [
        ("", "fr-FR,fr;q=0.9,en;q=0.8", ("fr", False)),
        ("", "de-DE,de;q=0.9,ar;q=0.5", ("ar", False)),
        ("", "en;q=0.2, es;q=0.7", ("es", False)),
        ("", "fr;q=0, en", ("en", False)),
        ("", "", ("en", False)),
        ("", "zz;q=garbage,,;", ("en", False)),
        ("ar", "fr", ("ar", True)),
        ("xx", "es", ("es", False)),
    ],
)
def test_the_visitors_language(query: str, header: str, expected: tuple[str, bool]) -> None:
    assert negotiate(query, header, "en") == expected


async def test_publishing_through_edit_follows_the_same_rules(stack: Publishing, w: World) -> None:
    gathering = add(stack, "Assembly | 2030-12-03 18:00")
    with pytest.raises(CommandError) as refused:  # its creator may edit it, not publish it
        await stack.gatherings.change(gathering, ALICE, "public yes", lang="en", cause="$e1")
    assert refused.value.message == NOT_PUBLISHER
    assert not published(w.db, gathering)
    changed = await stack.gatherings.change(
        gathering, ADMIN, "public: oui\ntitle: General assembly", lang="fr", cause="$e2"
    )
    assert changed.published
    assert changed.title == "General assembly"

    members = register(stack, ALICE)
    with pytest.raises(CommandError) as refused:
        stack.places.edit(members, ALICE, "public yes")
    assert refused.value.message == PLACE_NOT_PUBLISHER
    assert not stack.places.find(members).published
    place = register(stack, ADMIN)
    with pytest.raises(CommandError):
        stack.places.edit(place, ALICE, "public yes")  # not theirs to change
    assert stack.places.edit(place, ADMIN, "public: sí").published
    assert not stack.places.edit(place, ADMIN, "public no").published
