"""The rules behind ``!relay``: group names, links and modes, the glossary, and who hears a room.

Here one admin administers every room, so the first room linked makes them a steward of its
group and their other rooms join at once; consent, stewards and codes have their own tests in
``test_relay_consent_rules.py``.
"""

from __future__ import annotations

import itertools

import pytest

from bot.core.errors import CommandError, PermissionDenied, UsageError
from bot.core.storage.database import Database
from bot.core.text.echo import echo
from bot.relay import store
from bot.relay.desk import MAX_TERM, RelayDesk
from bot.relay.groups import PAUSED, RelayGroups
from bot.relay.store import RoomLink
from tests.support import services
from tests.support.services import World

ADMIN = "@alice:test"  # room admin in every room of these tests
MEMBER = "@bob:test"

# room ids in the order they are linked, so ties on the link time sort the same way
ROOM_A = "!a:test"
ROOM_B = "!b:test"
ROOM_C = "!c:test"
ROOM_D = "!d:test"
ROOM_E = "!e:test"


_events = itertools.count(1)


def linked(desk: RelayDesk, room: str, args: list[str], user: str = ADMIN) -> tuple[RoomLink, int]:
    """``!relay link`` by ``user``: the link made and the group's room count."""
    outcome = desk.link(room, args, user, f"$link{next(_events)}")
    assert outcome.link is not None, outcome
    return outcome.link, outcome.count


@pytest.fixture
def w(fresh_db: Database) -> World:
    made = services.world(fresh_db)
    for room in (ROOM_A, ROOM_B, ROOM_C, ROOM_D, ROOM_E):
        made.fake.power[(room, ADMIN)] = 100
    return made


@pytest.fixture
def relay(w: World) -> tuple[RelayDesk, RelayGroups]:
    return services.relay_desk(w)


@pytest.fixture
def desk(relay: tuple[RelayDesk, RelayGroups]) -> RelayDesk:
    return relay[0]


@pytest.fixture
def groups(relay: tuple[RelayDesk, RelayGroups]) -> RelayGroups:
    return relay[1]


# ---- linking -----------------------------------------------------------------------------------


def test_linking_records_the_group_language_and_mode(desk: RelayDesk, fresh_db: Database) -> None:
    link, count = linked(desk, ROOM_A, ["Mujawara", "FR", "receive"])

    assert (link.group, link.room_id, link.language, link.mode, count) == (
        "mujawara",
        ROOM_A,
        "fr",
        "receive",
        1,
    )
    assert desk.rooms.language(ROOM_A) == "fr"  # the room's language follows the link
    _, count = linked(desk, ROOM_B, ["mujawara", "ar"])
    assert count == 2
    b = store.room_link(fresh_db, ROOM_B)
    assert b is not None
    assert b.mode == "two-way"


def test_a_group_name_with_a_space_gets_a_suggestion(desk: RelayDesk, fresh_db: Database) -> None:
    with pytest.raises(CommandError) as refused:
        linked(desk, ROOM_A, ["north", "africa", "fr"])

    assert services.refusal(refused.value) == (
        "A group name is one word (letters, digits, - or _): {name} has a space. Try {example}.",
        {"name": "`north africa`", "example": "`north-africa`"},
    )
    assert store.room_link(fresh_db, ROOM_A) is None


@pytest.mark.parametrize("name", ["north/africa", "-north", "a" * 65, "north@home"])
def test_a_group_name_with_other_characters_is_refused(
    desk: RelayDesk, fresh_db: Database, name: str
) -> None:
    with pytest.raises(CommandError) as refused:
        linked(desk, ROOM_A, [name, "fr"])

    assert services.refusal(refused.value) == (
        "{name} is not a group name I can use: one word of letters, digits, - or _ (at most 64 characters).",
        {"name": echo(name)},  # a name too long is quoted short
    )
    assert store.room_link(fresh_db, ROOM_A) is None


def test_an_unknown_mode_is_a_usage_error(desk: RelayDesk, fresh_db: Database) -> None:
    with pytest.raises(UsageError) as refused:
        linked(desk, ROOM_A, ["north", "fr", "sideways"])

    assert services.refusal(refused.value) == (
        "{mode} is not a link mode. Use two-way, receive or send.",
        {"mode": "`sideways`"},
    )
    assert store.room_link(fresh_db, ROOM_A) is None


@pytest.mark.parametrize("args", [[], ["north"], ["north", "fr", "send", "extra"]])
def test_link_needs_a_group_and_a_language(
    desk: RelayDesk, fresh_db: Database, args: list[str]
) -> None:
    with pytest.raises(UsageError) as refused:
        linked(desk, ROOM_A, args)

    assert refused.value.message.startswith("Give a group name and this room's language code")
    assert store.room_link(fresh_db, ROOM_A) is None


def test_an_unknown_language_is_refused(desk: RelayDesk, fresh_db: Database) -> None:
    with pytest.raises(CommandError) as refused:
        linked(desk, ROOM_A, ["north", "zz"])

    assert refused.value.params == {"code": "`zz`"}
    assert store.room_link(fresh_db, ROOM_A) is None


def test_a_room_in_another_group_must_be_unlinked_first(
    desk: RelayDesk, fresh_db: Database
) -> None:
    linked(desk, ROOM_A, ["north", "fr"])

    with pytest.raises(CommandError) as refused:
        linked(desk, ROOM_A, ["south", "fr"])

    assert services.refusal(refused.value) == (
        "This room is already linked to the relay group {group}. Unlink it first with {command}.",
        {"group": "`north`", "command": "`!relay unlink`"},
    )
    link = store.room_link(fresh_db, ROOM_A)
    assert link is not None
    assert link.group == "north"


def test_relinking_in_the_same_group_changes_language_and_mode(
    desk: RelayDesk, fresh_db: Database
) -> None:
    linked(desk, ROOM_A, ["north", "fr"])

    link, count = linked(desk, ROOM_A, ["North", "es", "send"])

    assert (link.group, link.language, link.mode, count) == ("north", "es", "send", 1)


def test_unlinking_a_room_that_is_not_linked_is_refused(desk: RelayDesk) -> None:
    with pytest.raises(CommandError) as refused:
        desk.unlink(ROOM_A, ADMIN)

    assert services.refusal(refused.value) == (
        "This room is not linked to any relay group. An admin links it with {example}.",
        {"example": "`!relay link <group> <lang>`"},
    )


def test_unlinking_leaves_the_group(desk: RelayDesk, fresh_db: Database) -> None:
    linked(desk, ROOM_A, ["north", "fr"])

    assert desk.unlink(ROOM_A, ADMIN) == ("north", True)

    assert store.room_link(fresh_db, ROOM_A) is None
    with pytest.raises(CommandError):
        desk.unlink(ROOM_A, ADMIN)


def test_pausing_needs_a_link_and_says_whether_it_changed(desk: RelayDesk) -> None:
    with pytest.raises(CommandError):
        desk.set_paused(ROOM_A, True, ADMIN)
    linked(desk, ROOM_A, ["north", "fr"])

    assert desk.set_paused(ROOM_A, True, ADMIN) is True
    assert desk.set_paused(ROOM_A, True, ADMIN) is False
    assert desk.current(ROOM_A).paused


# ---- glossary ----------------------------------------------------------------------------------


def test_a_glossary_change_needs_a_steward(desk: RelayDesk, fresh_db: Database) -> None:
    linked(desk, ROOM_A, ["north", "fr"])

    with pytest.raises(PermissionDenied) as add:
        desk.add_term(ROOM_A, "Mujawara", MEMBER)
    with pytest.raises(PermissionDenied) as remove:
        desk.remove_term(ROOM_A, "Mujawara", MEMBER)

    expected = (
        "Only the stewards of the relay group {group} may change its glossary (admins of its steward rooms, listed by {command}).",
        {"group": "`north`", "command": "`!relay list`"},
    )
    assert services.refusal(add.value) == expected
    assert services.refusal(remove.value) == expected
    assert store.glossary(fresh_db, "north") == []


def test_a_steward_keeps_the_glossary(desk: RelayDesk, fresh_db: Database) -> None:
    linked(desk, ROOM_A, ["north", "fr"])

    assert desk.add_term(ROOM_A, "Mujawara", ADMIN) == ("north", True)
    assert desk.add_term(ROOM_A, "Mujawara", ADMIN) == ("north", False)
    assert desk.add_term(ROOM_A, "Zapatista", ADMIN) == ("north", True)
    assert desk.remove_term(ROOM_A, "Mujawara", ADMIN) == ("north", True)
    assert desk.remove_term(ROOM_A, "Mujawara", ADMIN) == ("north", False)
    assert store.glossary(fresh_db, "north") == ["Zapatista"]


@pytest.mark.parametrize("term", ["x" * (MAX_TERM + 1), "`code`"])
def test_long_terms_and_backticks_are_refused(
    desk: RelayDesk, fresh_db: Database, term: str
) -> None:
    linked(desk, ROOM_A, ["north", "fr"])

    with pytest.raises(CommandError) as refused:
        desk.add_term(ROOM_A, term, ADMIN)

    assert services.refusal(refused.value) == (
        "A glossary term is at most {limit} characters, without backticks.",
        {"limit": MAX_TERM},
    )
    assert store.glossary(fresh_db, "north") == []


def test_a_term_of_the_longest_length_is_accepted(desk: RelayDesk) -> None:
    linked(desk, ROOM_A, ["north", "fr"])

    assert desk.add_term(ROOM_A, "x" * MAX_TERM, ADMIN) == ("north", True)


def test_an_unlinked_room_has_no_glossary_to_change(desk: RelayDesk) -> None:
    with pytest.raises(CommandError) as refused:
        desk.add_term(ROOM_A, "Mujawara", ADMIN)

    assert refused.value.message.startswith("This room is not linked to any relay group.")


# ---- who hears a room --------------------------------------------------------------------------


def test_the_audience_is_the_room_then_the_rooms_that_receive(
    desk: RelayDesk, groups: RelayGroups
) -> None:
    linked(desk, ROOM_A, ["north", "fr"])  # two-way
    linked(desk, ROOM_B, ["north", "ar", "receive"])
    linked(desk, ROOM_C, ["north", "es", "send"])  # sends only: hears nothing
    linked(desk, ROOM_D, ["north", "en"])
    desk.set_paused(ROOM_D, True, ADMIN)  # paused: hears nothing
    linked(desk, ROOM_E, ["north", "fr"])
    desk.add_term(ROOM_A, "Mujawara", ADMIN)

    heard = groups.audience(ROOM_E, ADMIN)

    assert (heard.group, heard.room_ids, heard.glossary) == (
        "north",
        [ROOM_E, ROOM_A, ROOM_B],
        ["Mujawara"],
    )
    # a send-only room still comes first in its own audience; a paused one posts only there
    assert groups.audience(ROOM_C, ADMIN).room_ids == [ROOM_C, ROOM_A, ROOM_B, ROOM_E]
    paused = groups.audience(ROOM_D, ADMIN)
    assert (paused.room_ids, paused.reason) == ([ROOM_D], PAUSED)
    # anyone but a steward reaches their own room only
    assert groups.audience(ROOM_E, MEMBER).room_ids == [ROOM_E]


def test_a_room_in_no_group_reaches_itself(desk: RelayDesk, groups: RelayGroups) -> None:
    linked(desk, ROOM_A, ["north", "fr"])

    alone = groups.audience(ROOM_B, ADMIN)
    assert (alone.group, alone.room_ids) == (None, [ROOM_B])
    desk.unlink(ROOM_A, ADMIN)
    assert groups.audience(ROOM_A, ADMIN).group is None


def test_other_groups_are_not_in_the_audience(desk: RelayDesk, groups: RelayGroups) -> None:
    linked(desk, ROOM_A, ["north", "fr"])
    linked(desk, ROOM_B, ["south", "fr"])
    linked(desk, ROOM_C, ["north", "ar"])

    assert groups.audience(ROOM_A, ADMIN).room_ids == [ROOM_A, ROOM_C]


# ---- encrypted rooms and rooms that are not --------------------------------------------------
# (a steward's consent for an encrypted room: test_relay_consent_rules.py)


def test_consent_is_kept_only_for_an_encrypted_room(desk: RelayDesk, w: World) -> None:
    link, _ = linked(desk, ROOM_A, ["north", "fr", "--allow-unencrypted"])

    assert not link.allow_unencrypted  # turning encryption on later asks for it again
    assert not desk.encryption_notes(link).encrypted


@pytest.mark.parametrize(
    "flag", ["--allow-unencrypted", "—allow-unencrypted", "–Allow-Unencrypted"]
)
def test_a_stewards_consent_however_a_phone_writes_the_dashes(
    desk: RelayDesk, w: World, flag: str
) -> None:
    w.fake.encrypted.add(ROOM_A)
    linked(desk, ROOM_B, ["north", "es"])  # not encrypted, receives

    link, _ = linked(desk, ROOM_A, ["north", "fr", flag])

    assert link.allow_unencrypted


def test_an_unencrypted_room_learns_which_encrypted_rooms_do_not_come(
    desk: RelayDesk, w: World
) -> None:
    w.fake.encrypted.update({ROOM_A, ROOM_B})
    linked(desk, ROOM_A, ["north", "fr"])  # encrypted, alone: nothing to agree to yet
    linked(desk, ROOM_B, ["north", "ar"])  # encrypted too
    linked(desk, ROOM_D, ["north", "de", "send"])  # sends only: never asked

    link, _ = linked(desk, ROOM_C, ["north", "es"])

    assert desk.encryption_notes(link).withheld_from_here == 2
