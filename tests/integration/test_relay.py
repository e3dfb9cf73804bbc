"""The relay as members meet it: three language rooms reading each other through Apertium."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core.matrix.client import LIAISON_KEY
from tests.integration.test_relay_support import (
    command,
    copy_of,
    linked_rooms,
    redaction_of,
    relay_bot,
)
from tests.support.botharness import BotHarness
from tests.support.i18n import said, says
from tests.support.relaygroup import is_linked_answer

pytestmark = pytest.mark.integration


@pytest.fixture
async def rbot(synapse, apertium, tmp_path) -> AsyncIterator[BotHarness]:  # type: ignore[no-untyped-def]
    harness = relay_bot(synapse, tmp_path / "bot", apertium.url)
    await harness.start()
    yield harness
    await harness.stop()


async def test_message_reply_edit_reaction_redaction_follow(rbot, new_member) -> None:
    alice = await new_member("alice")
    rooms = await linked_rooms(alice, rbot)
    fr, es, en = rooms["fr"], rooms["es"], rooms["en"]

    original = await alice.send_text(fr, "Le marché est fermé aujourd'hui.")
    es_copy = await alice.wait_for(es, copy_of(rbot.user_id, original))
    en_copy = await alice.wait_for(en, copy_of(rbot.user_id, original))
    assert "El mercado está cerrado hoy" in es_copy["content"]["body"]
    assert "market is closed today" in en_copy["content"]["body"]
    # attribution: who, from which language, and a link to the original
    for copy in (es_copy, en_copy):
        content = copy["content"]
        assert content["body"].startswith(f"{alice.user_id.split(':')[0][1:]} [fr]:")
        assert f"https://matrix.to/#/{fr}/{original}" in content["formatted_body"]
        assert content["m.mentions"] == {}

    # a reply in the Spanish room to the copy answers the original and the English copy
    reply = await alice.send_text(es, "Gracias por la información.", reply_to=es_copy["event_id"])
    fr_reply = await alice.wait_for(fr, copy_of(rbot.user_id, reply))
    en_reply = await alice.wait_for(en, copy_of(rbot.user_id, reply))
    assert fr_reply["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == original
    assert en_reply["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == en_copy["event_id"]
    assert "Merci" in fr_reply["content"]["body"]
    assert "[es]" in en_reply["content"]["body"]

    # the author's edit is re-translated as an edit of each copy
    edit = await alice.edit(fr, original, "La réunion commence à midi.")
    es_edit = await alice.wait_for(es, copy_of(rbot.user_id, edit))
    assert es_edit["content"]["m.relates_to"] == {
        "rel_type": "m.replace",
        "event_id": es_copy["event_id"],
    }
    assert "La reunión comienza a mediodía" in es_edit["content"]["m.new_content"]["body"]
    en_edit = await alice.wait_for(en, copy_of(rbot.user_id, edit))
    assert en_edit["content"]["m.relates_to"]["event_id"] == en_copy["event_id"]

    # a reaction on the English copy lands on the original and on the Spanish copy
    reaction = await alice.react(en, en_copy["event_id"], "👍")
    on_fr = await alice.wait_for(fr, copy_of(rbot.user_id, reaction))
    on_es = await alice.wait_for(es, copy_of(rbot.user_id, reaction))
    assert on_fr["type"] == "m.reaction"
    assert on_fr["content"]["m.relates_to"] == {
        "rel_type": "m.annotation",
        "event_id": original,
        "key": "👍",
    }
    assert on_es["content"]["m.relates_to"]["event_id"] == es_copy["event_id"]
    # the same emoji from the Spanish room: the bot already shows it on the original
    same = await alice.react(es, es_copy["event_id"], "👍")
    heart = await alice.react(es, es_copy["event_id"], "❤️")
    await alice.wait_for(fr, copy_of(rbot.user_id, heart))
    assert not any(copy_of(rbot.user_id, same)(e) for e in alice.events(fr))

    # removing the original removes its copies
    await alice.redact(fr, original)
    es_gone = await alice.wait_for(es, redaction_of(es_copy["event_id"]))
    await alice.wait_for(en, redaction_of(en_copy["event_id"]))
    assert es_gone["sender"] == rbot.user_id

    # none of the bot's copies, replies or reactions came back as new relays
    for room in (fr, es, en):
        for event in alice.events(room):
            source = event.get("content", {}).get(LIAISON_KEY, {}).get("source")
            if source is not None:
                assert source in {original, reply, edit, reaction, same, heart}, event


async def test_bot_messages_commands_and_marked_text_stay_local(rbot, new_member) -> None:
    alice = await new_member("alice")
    rooms = await linked_rooms(alice, rbot, ("fr", "es"))
    fr, es = rooms["fr"], rooms["es"]
    mark = alice.mark(es)
    await command(alice, fr, "!relay status")
    hidden = await alice.send_text(fr, "!norelay Le marché est fermé aujourd'hui.")
    other_bot = await alice.send_raw(
        fr,
        "m.room.message",
        {"msgtype": "m.text", "body": "Le marché", LIAISON_KEY: {"kind": "relay"}},
    )
    probe = await alice.send_text(fr, "La réunion commence à midi.")
    await alice.wait_for(es, copy_of(rbot.user_id, probe), after=mark)
    for event in alice.events(es)[mark:]:
        if event.get("sender") == rbot.user_id:
            assert event["content"][LIAISON_KEY]["source"] == probe, event
            assert hidden not in str(event)
            assert other_bot not in str(event)
    assert not any("relay status" in str(e.get("content", {})) for e in alice.events(es)[mark:])


async def test_pings_and_dangerous_html_are_defused(rbot, new_member) -> None:
    alice = await new_member("alice")
    bob = await new_member("bob")
    rooms = await linked_rooms(alice, rbot, ("fr", "es"))
    fr, es = rooms["fr"], rooms["es"]

    ping = await alice.send_text(
        fr,
        f"@room réunion urgente ce soir avec {bob.user_id}",
        html=(
            f'@room réunion urgente ce soir avec <a href="https://matrix.to/#/{bob.user_id}">bob</a>'
        ),
    )
    copy = (await alice.wait_for(es, copy_of(rbot.user_id, ping)))["content"]
    assert copy["m.mentions"] == {}
    assert "@room" not in copy["body"]
    assert "@\u2060room" in copy["body"]
    assert "@room" not in copy["formatted_body"]
    assert f"https://matrix.to/#/{bob.user_id}" not in copy["formatted_body"]
    assert "urgente" in copy["body"]

    nasty = await alice.send_text(
        fr,
        "Bonjour camarades",
        html=(
            "<p>Bonjour <b>camarades</b><script>alert('x')</script>"
            '<img src="https://evil.example/x.png" onerror="alert(1)"></p>'
        ),
    )
    html = (await alice.wait_for(es, copy_of(rbot.user_id, nasty)))["content"]["formatted_body"]
    assert "<script" not in html
    assert "alert" not in html
    assert "onerror" not in html
    assert "evil.example" not in html
    assert "<b>Camaradas</b>" in html or "<b>camaradas</b>" in html


async def test_glossary_term_survives_translation(rbot, new_member) -> None:
    alice = await new_member("alice")
    rooms = await linked_rooms(alice, rbot, ("fr", "es"))
    fr, es = rooms["fr"], rooms["es"]
    plain = await alice.send_text(fr, "Solidarité Paysanne organise une fête demain.")
    assert (
        "Solidaridad" in (await alice.wait_for(es, copy_of(rbot.user_id, plain)))["content"]["body"]
    )

    answer = await command(alice, fr, '!relay glossary add "Solidarité Paysanne"')
    assert (
        said(
            "fr",
            "{term} is never translated in {group} from now on.",
            term="`Solidarité Paysanne`",
            group="`mujawara`",
        )
        in answer
    ), answer
    assert said(
        "es",
        "Never translated in {group}: {terms}",
        group="`mujawara`",
        terms="`Solidarité Paysanne`",
    ) in await command(alice, es, "!relay glossary list")
    kept = await alice.send_text(fr, "Solidarité Paysanne organise une fête demain.")
    body = (await alice.wait_for(es, copy_of(rbot.user_id, kept)))["content"]["body"]
    assert "Solidarité Paysanne organiza" in body

    assert says(
        "fr",
        "{term} is no longer in the glossary.",
        await command(alice, fr, '!relay glossary remove "solidarité paysanne"'),
    )
    assert said("fr", "The glossary of {group} is empty.", group="`mujawara`") in await command(
        alice, fr, "!relay glossary list"
    )


async def test_mixed_room_detection_and_media_captions(rbot, new_member) -> None:
    alice = await new_member("alice")
    rooms = await linked_rooms(alice, rbot)
    fr, es, en = rooms["fr"], rooms["es"], rooms["en"]
    # Spanish written in the French room: translated from Spanish, not from French
    spanish = await alice.send_text(
        fr, "Hola a todos, el mercado está cerrado hoy por la tarde y mañana también."
    )
    en_copy = (await alice.wait_for(en, copy_of(rbot.user_id, spanish)))["content"]["body"]
    assert "[es]" in en_copy
    assert "market is closed today" in en_copy
    es_copy = (await alice.wait_for(es, copy_of(rbot.user_id, spanish)))["content"]["body"]
    assert "el mercado está cerrado hoy por la tarde y mañana también" in es_copy

    image = await alice.send_raw(
        fr,
        "m.room.message",
        {
            "msgtype": "m.image",
            "body": "Le marché est fermé aujourd'hui.",
            "filename": "marche.png",
            "url": "mxc://localhost/abcdef",
            "info": {"mimetype": "image/png", "size": 10},
        },
    )
    copy = (await alice.wait_for(es, copy_of(rbot.user_id, image)))["content"]
    assert copy["msgtype"] == "m.image"
    assert copy["url"] == "mxc://localhost/abcdef"
    assert copy["filename"] == "marche.png"
    assert "El mercado está cerrado hoy" in copy["body"]


async def test_modes_pause_and_unlink(rbot, new_member) -> None:
    alice = await new_member("alice")
    rooms = await linked_rooms(alice, rbot, ("fr", "es"))
    fr, es = rooms["fr"], rooms["es"]
    # a receive-only English room and a send-only French announcement room
    en = (await linked_rooms(alice, rbot, ("en",), group="other"))["en"]
    assert "left the relay group" in await command(alice, en, "!relay unlink")
    assert is_linked_answer(
        await command(alice, en, "!relay link mujawara en receive"), "en", "mujawara", "receive"
    )
    news = (await linked_rooms(alice, rbot, ("fr",), group="other"))["fr"]
    await command(alice, news, "!relay unlink")
    assert is_linked_answer(
        await command(alice, news, "!relay link mujawara fr send"), "fr", "mujawara", "send"
    )
    listing = await command(alice, fr, "!relay list")
    assert listing.count("(fr)") == 2
    assert "(es)" in listing
    assert said("fr", "receive only") in listing
    assert said("fr", "send only") in listing

    from_news = await alice.send_text(news, "Le marché est fermé aujourd'hui.")
    await alice.wait_for(es, copy_of(rbot.user_id, from_news))
    await alice.wait_for(en, copy_of(rbot.user_id, from_news))
    from_en = await alice.send_text(en, "The market is closed today.")
    mark_es, mark_news = alice.mark(es), alice.mark(news)
    from_fr = await alice.send_text(fr, "La réunion commence à midi.")
    await alice.wait_for(es, copy_of(rbot.user_id, from_fr), after=mark_es)
    await alice.wait_for(en, copy_of(rbot.user_id, from_fr))
    # the send-only room got nothing, the receive-only room's message stayed home
    assert not any(copy_of(rbot.user_id, from_fr)(e) for e in alice.events(news))
    assert not any(copy_of(rbot.user_id, from_en)(e) for e in alice.events(es))
    assert all(e.get("sender") != rbot.user_id for e in alice.events(news)[mark_news:])

    resume = "`!relay resume`"
    assert said(
        "es",
        "The relay is paused for this room: nothing goes out from it or comes in. {command} resumes it.",
        command=resume,
    ) in await command(alice, es, "!relay pause")
    assert said(
        "es", "The relay is already paused here. {command} resumes it.", command=resume
    ) in await command(alice, es, "!relay pause")
    paused = await alice.send_text(fr, "Bonjour camarades")
    await alice.wait_for(en, copy_of(rbot.user_id, paused))
    assert said("es", "The relay is running again for this room.") in await command(
        alice, es, "!relay resume"
    )
    mark_es = alice.mark(es)

    assert said(
        "es",
        "This room has left the relay group {group}: nothing is relayed to or from it any more.",
        group="`mujawara`",
    ) in await command(alice, es, "!relay unlink")
    after = await alice.send_text(fr, "Le marché est fermé aujourd'hui.")
    await alice.wait_for(en, copy_of(rbot.user_id, after))
    back = await alice.send_text(es, "El mercado está cerrado hoy.")
    # the es room's events are handled in order: once this command is answered, `back` has
    # been handled too, and any copy of it would already be queued for fr and en
    await command(alice, es, "!room info")
    # each room's sends go out in order: a copy queued after it arriving proves none came
    probe = await alice.send_text(news, "Réunion urgente ce soir")
    await alice.wait_for(en, copy_of(rbot.user_id, probe))
    await alice.wait_for(fr, copy_of(rbot.user_id, probe))
    assert not any(copy_of(rbot.user_id, paused)(e) for e in alice.events(es))
    assert not any(copy_of(rbot.user_id, after)(e) for e in alice.events(es)[mark_es:])
    assert not any(copy_of(rbot.user_id, back)(e) for e in alice.events(fr))
    assert not any(copy_of(rbot.user_id, back)(e) for e in alice.events(en))
