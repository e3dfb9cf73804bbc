"""Members read the bot in their room's language: French, Arabic (right to left), Spanish."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.core.i18n import Catalogs
from tests.support.botharness import BotHarness
from tests.support.predicates import from_bot, reply_to, room_with_bot

pytestmark = pytest.mark.integration

CATALOGS = Catalogs()


def said(lang: str, message: str, **params: object) -> str:
    return CATALOGS.translate(lang, message, **params)


async def ask(member, room: str, text: str) -> dict:  # type: ignore[no-untyped-def]
    sent = await member.send_text(room, text)
    return await member.wait_for(room, reply_to(sent))


async def test_french_and_arabic_rooms_get_their_own_language(bot, new_member) -> None:
    await bot.start()
    alice = await new_member("alice")
    fr = await room_with_bot(alice, bot.user_id, name="salon")
    ar = await room_with_bot(alice, bot.user_id, name="غرفة")
    await ask(alice, fr, "!room lang fr")
    await ask(alice, ar, "!room lang ar")

    french = (await ask(alice, fr, "!salon info"))["content"]["body"]
    expected = said("fr", "This room's language: {language} ({code}). Time zone: {zone}.",
                    language="français", code="fr", zone="UTC")  # fmt: skip
    assert french == expected
    assert french != "This room's language: French (fr). Time zone: UTC."

    # help in French: the way to ask for details, the usage lines, all in French and typed
    # with the prefix, each alternative on its own
    overview = (await ask(alice, fr, "!aide"))["content"]["body"]
    assert f"`!aide {said('fr', '<family>')}`" in overview, overview
    schedule_help = (await ask(alice, fr, "!aide programme"))["content"]["body"]
    edit_line = next(line for line in schedule_help.splitlines() if "schedule edit" in line)
    assert edit_line.count("`!schedule edit") == 2, edit_line
    assert said("fr", "<when>") in edit_line, edit_line
    assert "<when>" not in schedule_help
    assert "<id>" in schedule_help or said("fr", "<id>") in schedule_help
    for line in schedule_help.splitlines()[1:]:
        if line.startswith("- "):
            assert line.startswith("- `!schedule "), line

    unknown = (await ask(alice, fr, "!hepl"))["content"]["body"]
    assert unknown == said(
        "fr",
        "I don't know the command {command}. Did you mean {suggestion}? Type {help} for the list.",
        command="`!hepl`",
        suggestion="`!help`",
        help="`!help`",
    )

    arabic = await ask(alice, ar, "!مساعدة")
    content = arabic["content"]
    assert content["formatted_body"].startswith('<div dir="rtl">')
    # the way to ask for details is written as an Arabic reader types it: `!مساعدة <عائلة>`
    typed = f"`!مساعدة {said('ar', '<family>')}`"
    header = said("ar", "**Commands you can use here** (type {help} for details):", help=typed)
    assert content["body"].startswith(header)
    assert "<family>" not in content["body"]
    # families are listed with their Arabic alias beside the English name
    assert "`!room` / `!غرفة`" in content["body"]
    bob = await new_member("bob")
    await alice.invite(ar, bob.user_id)
    await bob.join(ar)
    denied = (await ask(bob, ar, "!room lang en"))["content"]["body"]
    assert denied == said(
        "ar", "Only room admins (power level {level} or more) may use this command.", level=50
    )


async def test_metrics_count_a_relayed_message(synapse, tmp_path, new_member) -> None:
    harness = BotHarness(synapse, tmp_path / "bot", web={"enabled": True, "port": 0})
    try:
        app = await harness.start()
        alice = await new_member("alice")
        one = await room_with_bot(alice, harness.user_id, name="one")
        two = await room_with_bot(alice, harness.user_id, name="two")
        await ask(alice, one, "!relay link metrics en")
        await ask(alice, two, "!relay link metrics en")
        await alice.send_text(one, "A message for the other room.")
        await alice.wait_for(two, from_bot(harness.user_id, kind="relay"))
        assert app.core.web is not None
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{app.core.web.port}/metrics") as response,
        ):
            text = await response.text()
        values = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        assert values[("liaison_relayed_messages_total", (("kind", "message"),))] == 1
    finally:
        await harness.stop()
