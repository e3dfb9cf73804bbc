"""The rules behind ``!relay``: group names, links and modes, the glossary, and who hears a room."""

from __future__ import annotations

import pytest

from bot.core.errors import CommandError, PermissionDenied, UsageError
from bot.core.storage.database import Database
from bot.relay import store
from bot.relay.desk import MAX_TERM, RelayDesk
from bot.relay.groups import RelayGroups
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
    link, count = desk.link(ROOM_A, ["Mujawara", "FR", "receive"], ADMIN)

    assert (link.group, link.room_id, link.language, link.mode, count) == (
        "mujawara",
        ROOM_A,
        "fr",
        "receive",
        1,
    )
    assert desk.rooms.language(ROOM_A) == "fr"  # the room's language follows the link
    _, count = desk.link(ROOM_B, ["mujawara", "ar"], ADMIN)
    assert count == 2
    b = store.room_link(fresh_db, ROOM_B)
    assert b is not None
    assert b.mode == "two-way"


def test_a_group_name_with_a_space_gets_a_suggestion(desk: RelayDesk, fresh_db: Database) -> None:
    with pytest.raises(CommandError) as refused:
        desk.link(ROOM_A, ["north", "africa", "fr"], ADMIN)

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
        desk.link(ROOM_A, [name, "fr"], ADMIN)

    assert services.refusal(refused.value) == (
        "{name} is not a group name I can use: one word of letters, digits, - or _ (at most 64 characters).",
        {"name": f"`{name}`"},
    )
    assert store.room_link(fresh_db, ROOM_A) is None


def test_an_unknown_mode_is_a_usage_error(desk: RelayDesk, fresh_db: Database) -> None:
    with pytest.raises(UsageError) as refused:
        desk.link(ROOM_A, ["north", "fr", "sideways"], ADMIN)

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
        desk.link(ROOM_A, args, ADMIN)

    assert refused.value.message.startswith("Give a group name and this room's language code")
    assert store.room_link(fresh_db, ROOM_A) is None


def test_an_unknown_language_is_refused(desk: RelayDesk, fresh_db: Database) -> None:
    with pytest.raises(CommandError) as refused:
        desk.link(ROOM_A, ["north", "zz"], ADMIN)

    assert refused.value.params == {"code": "`zz`"}
    assert store.room_link(fresh_db, ROOM_A) is None


def test_a_room_in_another_group_must_be_unlinked_first(
    desk: RelayDesk, fresh_db: Database
) -> None:
    desk.link(ROOM_A, ["north", "fr"], ADMIN)

    with pytest.raises(CommandError) as refused:
        desk.link(ROOM_A, ["south", "fr"], ADMIN)

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
    desk.link(ROOM_A, ["north", "fr"], ADMIN)

    link, count = desk.link(ROOM_A, ["North", "es", "send"], ADMIN)

    assert (link.group, link.language, link.mode, count) == ("north", "es", "send", 1)


def test_unlinking_a_room_that_is_not_linked_is_refused(desk: RelayDesk) -> None:
    with pytest.raises(CommandError) as refused:
        desk.unlink(ROOM_A)

    assert services.refusal(refused.value) == (
        "This room is not linked to any relay group. An admin links it with {example}.",
        {"example": "`!relay link <group> <lang>`"},
    )


def test_unlinking_leaves_the_group(desk: RelayDesk, fresh_db: Database) -> None:
    desk.link(ROOM_A, ["north", "fr"], ADMIN)

    was = desk.unlink(ROOM_A)

    assert was.group == "north"
    assert store.room_link(fresh_db, ROOM_A) is None
    with pytest.raises(CommandError):
        desk.unlink(ROOM_A)


def test_pausing_needs_a_link_and_says_whether_it_changed(desk: RelayDesk) -> None:
    with pytest.raises(CommandError):
        desk.set_paused(ROOM_A, True)
    desk.link(ROOM_A, ["north", "fr"], ADMIN)

    assert desk.set_paused(ROOM_A, True) is True
    assert desk.set_paused(ROOM_A, True) is False
    assert desk.current(ROOM_A).paused


# ---- glossary ----------------------------------------------------------------------------------


def test_a_glossary_change_needs_a_room_admin(desk: RelayDesk, fresh_db: Database) -> None:
    desk.link(ROOM_A, ["north", "fr"], ADMIN)

    with pytest.raises(PermissionDenied) as add:
        desk.add_term(ROOM_A, "Mujawara", MEMBER)
    with pytest.raises(PermissionDenied) as remove:
        desk.remove_term(ROOM_A, "Mujawara", MEMBER)

    expected = (
        "Only room admins (power level {level} or more) may use this command.",
        {"level": 50},
    )
    assert services.refusal(add.value) == expected
    assert services.refusal(remove.value) == expected
    assert store.glossary(fresh_db, "north") == []


def test_a_room_admin_keeps_the_glossary(desk: RelayDesk, fresh_db: Database) -> None:
    desk.link(ROOM_A, ["north", "fr"], ADMIN)

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
    desk.link(ROOM_A, ["north", "fr"], ADMIN)

    with pytest.raises(CommandError) as refused:
        desk.add_term(ROOM_A, term, ADMIN)

    assert services.refusal(refused.value) == (
        "A glossary term is at most {limit} characters, without backticks.",
        {"limit": MAX_TERM},
    )
    assert store.glossary(fresh_db, "north") == []


def test_a_term_of_the_longest_length_is_accepted(desk: RelayDesk) -> None:
    desk.link(ROOM_A, ["north", "fr"], ADMIN)

    assert desk.add_term(ROOM_A, "x" * MAX_TERM, ADMIN) == ("north", True)


def test_an_unlinked_room_has_no_glossary_to_change(desk: RelayDesk) -> None:
    with pytest.raises(CommandError) as refused:
        desk.add_term(ROOM_A, "Mujawara", ADMIN)

    assert refused.value.message.startswith("This room is not linked to any relay group.")


# ---- who hears a room --------------------------------------------------------------------------


def test_the_audience_is_the_room_then_the_rooms_that_receive(
    desk: RelayDesk, groups: RelayGroups
) -> None:
    desk.link(ROOM_A, ["north", "fr"], ADMIN)  # two-way
    desk.link(ROOM_B, ["north", "ar", "receive"], ADMIN)
    desk.link(ROOM_C, ["north", "es", "send"], ADMIN)  # sends only: hears nothing
    desk.link(ROOM_D, ["north", "en"], ADMIN)
    desk.set_paused(ROOM_D, True)  # paused: hears nothing
    desk.link(ROOM_E, ["north", "fr"], ADMIN)
    desk.add_term(ROOM_A, "Mujawara", ADMIN)

    heard = groups.audience(ROOM_E)

    assert heard is not None
    assert (heard.group, heard.room_ids, heard.glossary) == (
        "north",
        [ROOM_E, ROOM_A, ROOM_B],
        ["Mujawara"],
    )
    # a send-only or paused room still comes first in its own audience
    from_c = groups.audience(ROOM_C)
    from_d = groups.audience(ROOM_D)
    assert from_c is not None
    assert from_d is not None
    assert from_c.room_ids == [ROOM_C, ROOM_A, ROOM_B, ROOM_E]
    assert from_d.room_ids == [ROOM_D, ROOM_A, ROOM_B, ROOM_E]


def test_a_room_in_no_group_has_no_audience(desk: RelayDesk, groups: RelayGroups) -> None:
    desk.link(ROOM_A, ["north", "fr"], ADMIN)

    assert groups.audience(ROOM_B) is None
    desk.unlink(ROOM_A)
    assert groups.audience(ROOM_A) is None


def test_other_groups_are_not_in_the_audience(desk: RelayDesk, groups: RelayGroups) -> None:
    desk.link(ROOM_A, ["north", "fr"], ADMIN)
    desk.link(ROOM_B, ["south", "fr"], ADMIN)
    desk.link(ROOM_C, ["north", "ar"], ADMIN)

    heard = groups.audience(ROOM_A)

    assert heard is not None
    assert heard.room_ids == [ROOM_A, ROOM_C]


# ---- encrypted rooms and rooms that are not --------------------------------------------------

REFUSED_PLAIN = "This room is encrypted, but rooms of the relay group {group} that receive its messages are not ({count}): their homeserver could read what is said here. Nothing was changed. To link it anyway, add {flag}: {example}. Linked as receive only, nothing leaves this room."


def test_an_encrypted_room_needs_consent_to_send_to_unencrypted_rooms(
    desk: RelayDesk, w: World, fresh_db: Database
) -> None:
    w.fake.encrypted.update({ROOM_A, ROOM_C})
    desk.link(ROOM_B, ["north", "es"], ADMIN)  # not encrypted, receives

    with pytest.raises(CommandError) as refused:
        desk.link(ROOM_A, ["north", "fr"], ADMIN)

    assert services.refusal(refused.value) == (
        REFUSED_PLAIN,
        {
            "group": "`north`",
            "count": 1,
            "flag": "`--allow-unencrypted`",
            "example": "`!relay link north fr two-way --allow-unencrypted`",
        },
    )
    assert store.room_link(fresh_db, ROOM_A) is None
    # receive only: nothing leaves the room, nothing to agree to
    link, _ = desk.link(ROOM_C, ["north", "en", "receive"], ADMIN)
    assert not link.allow_unencrypted

    link, _ = desk.link(ROOM_A, ["north", "fr"], ADMIN, allow_unencrypted=True)

    assert link.allow_unencrypted
    notes = desk.encryption_notes(link)
    assert (notes.encrypted, notes.consented, notes.unencrypted_receivers) == (True, True, 1)
    # linking again without the flag is refused and leaves the consent as it was
    with pytest.raises(CommandError):
        desk.link(ROOM_A, ["north", "ar"], ADMIN)
    kept = store.room_link(fresh_db, ROOM_A)
    assert kept is not None
    assert (kept.language, kept.allow_unencrypted) == ("fr", True)


def test_consent_is_kept_only_for_an_encrypted_room(desk: RelayDesk, w: World) -> None:
    link, _ = desk.link(ROOM_A, ["north", "fr"], ADMIN, allow_unencrypted=True)

    assert not link.allow_unencrypted  # turning encryption on later asks for it again
    notes = desk.encryption_notes(link)
    assert (notes.encrypted, notes.consented) == (False, False)


def test_an_unencrypted_room_learns_which_encrypted_rooms_do_not_come(
    desk: RelayDesk, w: World
) -> None:
    w.fake.encrypted.update({ROOM_A, ROOM_B})
    desk.link(ROOM_A, ["north", "fr"], ADMIN)  # encrypted, alone: nothing to agree to yet
    desk.link(ROOM_B, ["north", "ar"], ADMIN)  # encrypted too
    desk.link(ROOM_D, ["north", "de", "send"], ADMIN)  # sends only: never asked

    link, _ = desk.link(ROOM_C, ["north", "es"], ADMIN)

    assert desk.encryption_notes(link).withheld_from_here == 2
