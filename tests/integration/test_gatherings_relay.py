"""A gathering announced into a fr/es/en relay group: translated copies, RSVP on any copy."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.botharness import BotHarness
from tests.support.i18n import said, said_pattern, said_plural, says
from tests.support.members import Member
from tests.support.predicates import from_bot, reply_to, room_with_bot
from tests.support.relaygroup import is_linked_answer

pytestmark = pytest.mark.integration


async def ask(member: Member, room: str, text: str) -> str:
    sent = await member.send_text(room, text)
    return str((await member.wait_for(room, reply_to(sent), timeout=30))["content"]["body"])


async def test_announce_into_a_relay_group_translates_each_copy(
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
        bob = await new_member("bob")
        rooms: dict[str, str] = {}
        for lang in ("fr", "es", "en"):
            rooms[lang] = await room_with_bot(alice, bot.user_id, name=f"group-{lang}")
            answer = await ask(alice, rooms[lang], f"!relay link mujawara{bot.localpart} {lang}")
            assert is_linked_answer(answer, lang, f"mujawara{bot.localpart}"), answer
        await alice.invite(rooms["es"], bob.user_id)
        await bob.join(rooms["es"])

        body = await ask(
            alice,
            rooms["fr"],
            "!evenement add\ntitre: Assemblée générale\nquand: 2030-06-06 18:00\n"
            "lieu: Mujawara\ndescription: Nous parlerons de la solidarité.\ncapacité: 1",
        )
        match = said_pattern(
            "fr", "Gathering {id} created.", id=re.compile(r"`(?P<id>\w+)`")
        ).search(body)
        assert match, body
        gathering = match.group("id")
        marks = {lang: alice.mark(room) for lang, room in rooms.items()}
        announced = await ask(alice, rooms["fr"], f"!event announce {gathering}")
        assert (
            said_plural(
                "fr",
                ("Announced {id} in {count} room.", "Announced {id} in {count} rooms."),
                3,
                id=f"`{gathering}`",
            )
            in announced
        ), announced

        posts: dict[str, dict[str, Any]] = {}
        for lang, room in rooms.items():
            posts[lang] = await alice.wait_for(
                room, from_bot(bot.user_id, kind="announcement"), after=marks[lang], timeout=30
            )
        fr_body = posts["fr"]["content"]["body"]
        es_body = posts["es"]["content"]["body"]
        en_body = posts["en"]["content"]["body"]
        assert "Assemblée générale" in fr_body
        assert "solidarité" in fr_body
        assert "Asamblea general" in es_body
        assert "solidaridad" in es_body
        assert "Assemblée" not in en_body
        assert "solidarity" in en_body.lower()

        # a reaction on the Spanish copy counts for the one gathering
        await bob.react(rooms["es"], posts["es"]["event_id"], "✅")
        shown = await ask(alice, rooms["fr"], f"!event show {gathering}")
        assert says(
            "fr",
            "Going: {going} · Maybe: {maybe} · Not going: {no}",
            shown,
            going=said("fr", "{going} of {capacity}", going=1, capacity=1),
        ), shown

        # a change edits every copy, each still in its language
        marks = {lang: alice.mark(room) for lang, room in rooms.items()}
        await ask(alice, rooms["fr"], f"!event edit {gathering} quand 2030-06-06 19:00")
        for lang, room in rooms.items():
            post_id = posts[lang]["event_id"]

            def replaces(event: dict[str, Any], post_id: str = post_id) -> bool:
                relates = event.get("content", {}).get("m.relates_to", {})
                return relates.get("rel_type") == "m.replace" and relates.get("event_id") == post_id

            edit = await alice.wait_for(room, replaces, after=marks[lang], timeout=30)
            assert "19:00" in edit["content"]["m.new_content"]["body"]
        told = await bob.wait_for(
            rooms["es"], from_bot(bot.user_id, kind="gathering-change"), timeout=30
        )
        assert told["content"]["m.mentions"] == {"user_ids": [bob.user_id]}
    finally:
        await bot.stop()
