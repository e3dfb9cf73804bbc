"""!relay refuses bad input and members' admin attempts clearly, and changes nothing."""

from __future__ import annotations

import pytest

from bot.storage import relay as store
from bot.storage import rooms as room_store
from tests.integration.test_relay_support import command, linked_rooms
from tests.support.predicates import room_with_bot

pytestmark = pytest.mark.integration


async def test_bad_input_gets_clear_replies_and_changes_nothing(bot, new_member) -> None:
    await bot.start()
    db = bot.app.services.db
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
    assert room_store.settings(db, room).language is None

    assert "is now in the relay group `mujawara`" in await command(
        alice, room, "!relay link mujawara fr"
    )
    for text, expected in [
        ("!relay link autre es", "already linked to the relay group `mujawara`"),
        ("!relay glossary rename x", "`rename` is not a glossary action"),
        ("!relay glossary add", "Give the term"),
        ("!relay unlink now", "takes no arguments"),
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
    assert "(fr)" in await command(alice, room, "!relay list")


async def test_members_may_look_but_not_change(bot, new_member) -> None:
    await bot.start()
    db = bot.app.services.db
    alice = await new_member("alice")
    bob = await new_member("bob")
    rooms = await linked_rooms(alice, bot, ("fr", "es"))
    fr = rooms["fr"]
    await alice.invite(fr, bob.user_id)
    await bob.join(fr)
    for text in (
        "!relay link other fr",
        "!relay unlink",
        "!relay pause",
        "!relay glossary add Mujawara",
        "!relay glossary remove Mujawara",
    ):
        answer = await command(bob, fr, text)
        assert "Only room admins" in answer, (text, answer)
    link = store.room_link(db, fr)
    assert link is not None
    assert link.group == "mujawara"
    assert not link.paused
    assert store.glossary(db, "mujawara") == []
    assert "(es)" in await command(bob, fr, "!relay list")
    assert "Relay group `mujawara`" in await command(bob, fr, "!relay status")
    assert "is empty" in await command(bob, fr, "!relay glossary list")
