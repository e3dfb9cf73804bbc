"""The relay when engines fail, answer from the cache, pivot, and across a bot restart."""

from __future__ import annotations

import re

import pytest

from bot.dev.devserver.apertium import LocalApertium
from tests.integration.test_relay_support import (
    command,
    copy_of,
    linked_rooms,
    redaction_of,
    relay_bot,
)
from tests.support.i18n import said, says

pytestmark = pytest.mark.integration


async def test_engine_down_relays_the_original_with_a_marker(synapse, tmp_path, new_member) -> None:
    private = LocalApertium()  # this test stops it: not the session's server
    await private.start()
    bot = relay_bot(synapse, tmp_path / "bot", private.url)
    try:
        await bot.start()
        assert bot.app is not None
        translation = bot.app.core.translation
        assert translation is not None
        alice = await new_member("alice")
        rooms = await linked_rooms(alice, bot, ("fr", "es"))
        fr, es = rooms["fr"], rooms["es"]
        # a room of two people, not a direct chat (whose words are never cached)
        bob = await new_member("bob")
        await alice.invite(fr, bob.user_id)
        await bob.join(fr)
        hello = await bob.send_text(fr, "Bonjour à toutes et à tous.")
        await alice.wait_for(es, copy_of(bot.user_id, hello))

        first = await alice.send_text(fr, "Le marché est fermé aujourd'hui.")
        body = (await alice.wait_for(es, copy_of(bot.user_id, first)))["content"]["body"]
        assert "El mercado está cerrado hoy" in body
        calls = translation.stats["apertium"].calls

        await private.stop()
        # the same text again comes from the cache: translated without calling the engine
        again = await alice.send_text(fr, "Le marché est fermé aujourd'hui.")
        body = (await alice.wait_for(es, copy_of(bot.user_id, again)))["content"]["body"]
        assert "El mercado está cerrado hoy" in body
        assert translation.stats["apertium"].calls == calls
        assert translation.stats["apertium"].cache_hits >= 1

        # new text with the engine down: relayed as written, marked, and counted
        fresh = await alice.send_text(fr, "La réunion commence à midi.")
        body = (await alice.wait_for(es, copy_of(bot.user_id, fresh)))["content"]["body"]
        assert said("es", "[untranslated]") in body
        assert "La réunion commence à midi." in body
        status = await command(alice, fr, "!relay status")
        assert (
            said("fr", "Relayed untranslated because every engine failed: {count}.", count=1)
            in status
        ), status
        assert says(
            "fr", "Last error: {error} ({when} UTC).", status, error=re.compile(r"apertium.*?")
        ), status
        assert says(
            "fr",
            "Engine {engine}: {calls} calls, {failures} failures, {hits} cache hits.",
            status,
            engine="`apertium`",
        ), status
    finally:
        await bot.stop()
        await private.stop()


async def test_two_hop_pivot_is_used_and_shown(synapse, apertium, tmp_path, new_member) -> None:
    bot = relay_bot(synapse, tmp_path / "bot", apertium.url)
    try:
        await bot.start()
        alice = await new_member("alice")
        rooms = await linked_rooms(alice, bot, ("fr", "en"))
        sent = await alice.send_text(rooms["fr"], "Le marché est fermé aujourd'hui.")
        body = (await alice.wait_for(rooms["en"], copy_of(bot.user_id, sent)))["content"]["body"]
        assert "The market is closed today." in body
        status = await command(alice, rooms["en"], "!relay status")
        via = said("en", "{source}→{target} via {pivot}", source="fr", target="en", pivot="es")
        assert f"{via} (apertium) ×1" in status, status
        assert (
            said("en", "Relayed untranslated because every engine failed: {count}.", count=0)
            in status
        ), status
    finally:
        await bot.stop()


async def test_relay_map_survives_a_restart(synapse, apertium, tmp_path, new_member) -> None:
    bot = relay_bot(synapse, tmp_path / "bot", apertium.url)
    try:
        await bot.start()
        alice = await new_member("alice")
        bob = await new_member("bob")
        rooms = await linked_rooms(alice, bot, ("fr", "es"))
        fr, es = rooms["fr"], rooms["es"]
        await alice.invite(fr, bob.user_id)
        await bob.join(fr)
        original = await alice.send_text(fr, "Le marché est fermé aujourd'hui.")
        es_copy = await alice.wait_for(es, copy_of(bot.user_id, original))

        await bot.restart()

        edit = await alice.edit(fr, original, "La réunion commence à midi.")
        es_edit = await alice.wait_for(es, copy_of(bot.user_id, edit))
        assert es_edit["content"]["m.relates_to"]["event_id"] == es_copy["event_id"]
        reply = await alice.send_text(
            es, "Gracias por la información.", reply_to=es_copy["event_id"]
        )
        fr_reply = await alice.wait_for(fr, copy_of(bot.user_id, reply))
        assert fr_reply["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == original

        # someone else "editing" alice's message is not relayed as an edit
        spoof = await bob.send_raw(
            fr,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "* Réunion urgente ce soir",
                "m.new_content": {"msgtype": "m.text", "body": "Réunion urgente ce soir"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": original},
            },
        )
        probe = await bob.send_text(fr, "Bonjour camarades")
        await alice.wait_for(es, copy_of(bot.user_id, probe))
        assert not any(copy_of(bot.user_id, spoof)(e) for e in alice.events(es))

        await alice.redact(fr, original)
        await alice.wait_for(es, redaction_of(es_copy["event_id"]))
    finally:
        await bot.stop()
