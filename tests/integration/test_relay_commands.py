"""!relay refuses bad input and members' admin attempts clearly, and changes nothing."""

from __future__ import annotations

import pytest

from bot.core.storage import rooms as room_store
from bot.relay import store
from tests.integration.test_relay_support import command, linked_rooms
from tests.support.i18n import said, says
from tests.support.predicates import room_with_bot
from tests.support.relaygroup import is_linked_answer

pytestmark = pytest.mark.integration


async def test_bad_input_gets_clear_replies_and_changes_nothing(bot, new_member) -> None:
    await bot.start()
    db = bot.app.db
    alice = await new_member("alice")
    room = await room_with_bot(alice, bot.user_id, name="assembly")
    for text, expected in [
        ("!relay link mujawara xx", "`xx` is not a language code"),
        ('!relay link "my group" fr', "`my group` has a space. Try `my-group`"),
        ("!relay link my group fr", "`my group` has a space"),
        ("!relay link mujawara fr both", "`both` is not a link mode"),
        ("!relay link mujawara", "Give a group name and this room's language code"),
        ("!relay unlink", "not linked to any relay group"),
        ("!relay pause", "not linked to any relay group"),
        ("!relay glossary add Mujawara", "not linked to any relay group"),
    ]:
        answer = await command(alice, room, text)
        assert expected in answer, (text, answer)
    assert store.room_link(db, room) is None
    # the language it was greeted with, untouched
    assert room_store.settings(db, room).language == "en"

    answer = await command(alice, room, "!relay link mujawara fr")
    assert is_linked_answer(answer, "fr", "mujawara"), answer
    # the room now speaks French: so do the answers
    for text, expected in [
        (
            "!relay link autre es",
            said(
                "fr",
                "This room is already linked to the relay group {group}. Unlink it first with {command}.",
                group="`mujawara`",
                command="`!relay unlink`",
            ),
        ),
        (
            "!relay glossary rename x",
            said(
                "fr",
                "{action} is not a glossary action. Use add, remove or list.",
                action="`rename`",
            ),
        ),
        (
            "!relay glossary add",
            said("fr", "Give the term, for example {example}.", example="`Mujawara`"),
        ),
        ("!relay unlink now", said("fr", "This command takes no arguments.")),
    ]:
        answer = await command(alice, room, text)
        assert expected in answer, (text, answer)
    link = store.room_link(db, room)
    assert link is not None
    assert (link.group, link.language, link.mode) == (
        "mujawara",
        "fr",
        "two-way",
    )
    assert store.glossary(db, "mujawara") == []
    assert room_store.settings(db, room).language == "fr"
    assert says(
        "fr",
        "{room}: {language} ({code}), {mode}",
        await command(alice, room, "!relay list"),
        code="fr",
        mode=said("fr", "two-way"),
    )


async def test_members_may_look_but_not_change(bot, new_member) -> None:
    await bot.start()
    db = bot.app.db
    alice = await new_member("alice")
    bob = await new_member("bob")
    rooms = await linked_rooms(alice, bot, ("fr", "es"))
    fr = rooms["fr"]
    await alice.invite(fr, bob.user_id)
    await bob.join(fr)
    for text in ("!relay link other fr", "!relay unlink", "!relay pause", "!relay audit"):
        answer = await command(bob, fr, text)
        assert says(
            "fr",
            "Only room admins (power level {level} or more) may use this command.",
            answer,
            level=bot.app.config.bot.admin_power_level,
        ), (text, answer)
    for text in ("!relay glossary add Mujawara", "!relay glossary remove Mujawara"):
        answer = await command(bob, fr, text)
        assert says(
            "fr",
            "Only the stewards of the relay group {group} may change its glossary (admins of its steward rooms, listed by {command}).",
            answer,
            group="`mujawara`",
            command="`!relay list`",
        ), (text, answer)
    link = store.room_link(db, fr)
    assert link is not None
    assert link.group == "mujawara"
    assert not link.paused
    assert store.glossary(db, "mujawara") == []
    assert says(
        "fr",
        "{room}: {language} ({code}), {mode}",
        await command(bob, fr, "!relay list"),
        code="es",
        mode=said("fr", "two-way"),
    )
    assert says(
        "fr",
        "**Relay group {group}**: this room speaks {language} ({code}), {mode}.",
        await command(bob, fr, "!relay status"),
        group="`mujawara`",
        code="fr",
    )
    assert said("fr", "The glossary of {group} is empty.", group="`mujawara`") in await command(
        bob, fr, "!relay glossary list"
    )
