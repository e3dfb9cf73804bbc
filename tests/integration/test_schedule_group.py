"""A scheduled post to a whole relay group: each room gets it in its own language (Apertium)."""

from __future__ import annotations

import pytest

from tests.integration.test_schedule import announcement, ask, soon
from tests.support.botharness import BotHarness
from tests.support.i18n import said
from tests.support.predicates import room_with_bot
from tests.support.relaygroup import is_linked_answer

pytestmark = pytest.mark.integration


async def test_group_target_posts_translated_copies(
    synapse, apertium, tmp_path, new_member
) -> None:
    bot = BotHarness(
        synapse,
        tmp_path / "bot",
        translation={"engines": ["apertium"], "apertium": {"url": apertium.url}},
    )
    try:
        await bot.start()
        alice = await new_member("alice")
        fr_room = await room_with_bot(alice, bot.user_id, name="paris")
        es_room = await room_with_bot(alice, bot.user_id, name="madrid")
        lone = await room_with_bot(alice, bot.user_id, name="alone")
        for room, lang in ((fr_room, "fr"), (es_room, "es")):
            answer = await ask(alice, room, f"!relay link mujawara {lang}")
            assert is_linked_answer(answer, lang, "mujawara"), answer

        body = await ask(alice, lone, "!schedule add --group tomorrow 9:00 Hola")
        assert "not in a relay group" in body
        assert "No posts are scheduled" in await ask(alice, lone, "!schedule list")

        es_mark = alice.mark(es_room)
        body = await ask(
            alice, fr_room, f"!programme add --groupe {soon(5)} La réunion commence demain."
        )
        assert (
            said(
                "fr",
                "Posted to every room of this room's relay group, each in its own language.",
            )
            in body
        ), body
        original = await alice.wait_for(
            fr_room, announcement(bot.user_id, "La réunion commence demain."), timeout=20
        )
        copy = await alice.wait_for(
            es_room, announcement(bot.user_id, "reunión"), timeout=20, after=es_mark
        )
        assert "réunion" not in copy["content"]["body"]
        assert (
            said("es", "_Automatic translation from {language}._", language="francés")
            in copy["content"]["body"]
        ), copy["content"]["body"]
        assert original["content"]["body"] == "La réunion commence demain."
        # the relay does not copy the announcement a second time
        await ask(alice, es_room, "!schedule list")
        copies = [e for e in alice.events(es_room) if announcement(bot.user_id, "reunión")(e)]
        assert len(copies) == 1
    finally:
        await bot.stop()
