"""The places directory's rules: registering once, and who may change or remove a place."""

from __future__ import annotations

import pytest

from bot.core.errors import CommandError, UsageError
from bot.core.storage.database import Database
from bot.places import forms
from bot.places.service import Places
from bot.places.store import Place
from tests.support import services

OWNER = "@alice:test"
STRANGER = "@bob:test"
ROOT = "@root:test"  # a bot admin

ROOM = "!square:test"
OTHER = "!elsewhere:test"
NOT_OWNER = "Only the person who registered {id} or a bot admin may change it. Nothing was changed."


@pytest.fixture
def places(fresh_db: Database) -> Places:
    return services.places(services.world(fresh_db, services.make_config(admins=[ROOT])))


def register(places: Places, text: str, *, command: str = "$place", room: str = ROOM) -> Place:
    return places.register(
        command_event_id=command, creator=OWNER, room_id=room, values=forms.parse_place(text)
    )


def count(db: Database) -> int:
    found = db.query_one("SELECT count(*) AS n FROM places")
    assert found is not None
    return int(found["n"])


def test_a_registered_place_keeps_its_fields_and_room(places: Places) -> None:
    place = register(places, "Mujawara | Tunis | TN | capacity: 60 | languages: AR, fr, ar")

    assert (place.name, place.city, place.country, place.capacity, place.languages) == (
        "Mujawara",
        "Tunis",
        "TN",
        60,
        "ar, fr",
    )
    assert (place.creator, place.room_id) == (OWNER, ROOM)
    assert places.registered_in(place.id, ROOM)
    assert not places.registered_in(place.id, OTHER)
    assert places.find(place.id.upper()) == place


def test_a_replayed_registration_returns_the_first_place(
    places: Places, fresh_db: Database
) -> None:
    first = register(places, "Mujawara | Tunis | TN")

    again = register(places, "Another | Lyon | FR")

    assert again == first
    assert count(fresh_db) == 1


def test_two_commands_register_two_places(places: Places, fresh_db: Database) -> None:
    first = register(places, "Mujawara | Tunis | TN", command="$one")
    second = register(places, "La Grange | Die | FR", command="$two")

    assert first.id != second.id
    assert [p.name for p in places.listing()] == ["La Grange", "Mujawara"]
    assert [p.name for p in places.listing("tn")] == ["Mujawara"]


@pytest.mark.timeout(10)
def test_a_replayed_registration_of_a_removed_place_does_not_bring_it_back(
    places: Places, fresh_db: Database
) -> None:
    first = register(places, "Mujawara | Tunis | TN")
    places.remove(first.id, OWNER)

    again = register(places, "Mujawara | Tunis | TN")

    assert again.id == first.id
    assert places.get(first.id) is None
    assert count(fresh_db) == 1


def test_a_place_needs_a_name() -> None:
    with pytest.raises(UsageError) as refused:
        forms.parse_place("name:  ")

    assert services.refusal(refused.value) == ("A place needs a name.", {})


def test_a_stranger_may_neither_edit_nor_remove_a_place(places: Places) -> None:
    place = register(places, "Mujawara | Tunis | TN")

    with pytest.raises(CommandError) as edit:
        places.edit(place.id, STRANGER, "contact someone@example.org")
    with pytest.raises(CommandError) as remove:
        places.remove(place.id, STRANGER)

    expected = (NOT_OWNER, {"id": f"`{place.id}`"})
    assert services.refusal(edit.value) == expected
    assert services.refusal(remove.value) == expected
    assert places.get(place.id) == place


def test_the_owner_edits_and_a_bot_admin_removes(places: Places) -> None:
    place = register(places, "Mujawara | Tunis | TN")

    edited = places.edit(place.id, OWNER, "capacity: 80\ncontact: mujawara@example.org")
    removed = places.remove(place.id, ROOT)

    assert (edited.capacity, edited.contact, edited.name) == (
        80,
        "mujawara@example.org",
        "Mujawara",
    )
    assert removed.id == place.id
    assert places.get(place.id) is None
    assert places.listing() == []


def test_a_removed_place_is_as_unknown_as_a_missing_one(places: Places) -> None:
    place = register(places, "Mujawara | Tunis | TN")
    places.remove(place.id, OWNER)

    with pytest.raises(CommandError) as removed:
        places.edit(place.id, OWNER, "name Back")
    with pytest.raises(CommandError) as missing:
        places.find("zz99")

    assert services.refusal(removed.value) == (
        "I know no place with the id {id}. {list} shows the directory.",
        {"id": f"`{place.id}`", "list": "`!place list`"},
    )
    assert missing.value.message == removed.value.message
    assert not places.exists(place.id)


def test_no_id_is_a_usage_error(places: Places) -> None:
    with pytest.raises(UsageError) as refused:
        places.find(None)

    assert services.refusal(refused.value) == (
        "Give the place's id, such as {example}.",
        {"example": "`p4kx`"},
    )
