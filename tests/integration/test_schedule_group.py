"""A scheduled post to a whole relay group: each room gets it in its own language (Apertium),
and a room no engine serves is told plainly that it reads the original."""

from __future__ import annotations

import pytest

from tests.integration.test_relay_support import copy_of
from tests.integration.test_schedule import announcement, ask, soon
from tests.support.botharness import BotHarness
from tests.support.i18n import said
from tests.support.predicates import room_with_bot
from tests.support.relaygroup import is_linked_answer

pytestmark = pytest.mark.integration


async def test_group_target_posts_translated_copies_and_says_which_are_not(
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
        ar_room = await room_with_bot(alice, bot.user_id, name="tunis")
        lone = await room_with_bot(alice, bot.user_id, name="alone")
        for room, lang in ((fr_room, "fr"), (es_room, "es"), (ar_room, "ar")):
            answer = await ask(alice, room, f"!relay link mujawara {lang}")
            assert is_linked_answer(answer, lang, "mujawara"), answer

        body = await ask(alice, lone, "!schedule add --group tomorrow 9:00 Hola")
        assert "not in a relay group" in body
        assert "No posts are scheduled" in await ask(alice, lone, "!schedule list")

        es_mark = alice.mark(es_room)
        ar_mark = alice.mark(ar_room)
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
        # no engine serves Arabic here: the Arabic room reads the original, and is told so
        arabic = await alice.wait_for(
            ar_room, announcement(bot.user_id, "La réunion"), timeout=20, after=ar_mark
        )
        assert (
            said(
                "ar", "_Not translated: no translation from {language} here._", language="الفرنسية"
            )
            in arabic["content"]["body"]
        ), arabic["content"]["body"]

        # the relay marks an untranslated copy the same way, whatever the reason
        sent = await alice.send_text(ar_room, "الاجتماع غداً في المقر")
        copy = await alice.wait_for(fr_room, copy_of(bot.user_id, sent))
        assert said("fr", "[untranslated]") in copy["content"]["body"]
        # Apertium's marks for words it does not know never reach a copy
        sent = await alice.send_text(fr_room, "On se retrouve à la manif, Zorblax viendra")
        copy = await alice.wait_for(es_room, copy_of(bot.user_id, sent))
        text = copy["content"]["body"].split(": ", 1)[1]
        assert "Zorblax" in text
        assert not any(mark in text for mark in "#*@"), text
        # and the status says which engine serves which pair
        status = await ask(alice, fr_room, "!relay status")
        assert "fr→es (apertium)" in status, status
        assert (
            said(
                "fr",
                "{source}→{target}: no engine, copied untranslated with a marker",
                source="fr",
                target="ar",
            )
            in status
        ), status
        # the relay does not copy the announcement a second time
        await ask(alice, es_room, "!schedule list")
        copies = [e for e in alice.events(es_room) if announcement(bot.user_id, "reunión")(e)]
        assert len(copies) == 1
    finally:
        await bot.stop()
