"""Hostile content through the relay: what a member could send to hurt the other rooms.

Scripts and frames, pings of whole rooms, messages as large as the homeserver allows,
characters that hide or reorder text, relations that point nowhere, events missing their
fields: every copy comes out harmless, nothing is lost silently, and the bot keeps relaying.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from bot.core.matrix.client import LIAISON_KEY
from bot.relay.render import MAX_COPY_BYTES
from bot.relay.service import SHORTENED
from tests.integration.test_relay_support import command, copy_of, redaction_of
from tests.support.botharness import BotHarness
from tests.support.members import Member
from tests.support.predicates import joined, room_with_bot

pytestmark = pytest.mark.integration

INVISIBLE = ("\u202e", "\u202a", "\u202c", "\u2066", "\u2067", "\u2068", "\u2069", "\u200b")
ZWNJ = "\u200c"


@pytest.fixture
async def rbot(synapse, tmp_path) -> AsyncIterator[BotHarness]:  # type: ignore[no-untyped-def]
    harness = BotHarness(synapse, tmp_path / "bot")  # no engine: copies keep the source text
    await harness.start()
    yield harness
    await harness.stop()


@pytest.fixture
def bot_errors(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """Errors the bot has logged so far in the test (a listener that crashed logs one)."""
    caplog.set_level(logging.WARNING, logger="bot")

    def errors() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.name.startswith("bot") and r.levelno >= logging.ERROR
        ]

    return errors


async def linked_rooms(
    member: Member, bot: BotHarness, languages: tuple[str, ...]
) -> dict[str, str]:
    """One room per language, created by ``member`` and linked to one relay group."""
    rooms = {}
    for lang in languages:
        rooms[lang] = await room_with_bot(member, bot.user_id, name=f"hostile-{lang}")
        answer = await command(member, rooms[lang], f"!relay link hostile {lang}")
        assert "`hostile`" in answer, answer
    return rooms


def bot_events(member: Member, room: str, bot_user_id: str, after: int) -> list[dict[str, Any]]:
    return [e for e in member.events(room)[after:] if e.get("sender") == bot_user_id]


def sources(events: list[dict[str, Any]]) -> set[str]:
    return {e.get("content", {}).get(LIAISON_KEY, {}).get("source") for e in events} - {None}


async def highlights(member: Member) -> set[str]:
    """Event ids for which the homeserver's push rules highlight ``member`` (their bell)."""
    url = f"{member.hs.url}/_matrix/client/v3/notifications"
    headers = {"Authorization": f"Bearer {member.client.access_token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params={"only": "highlight", "limit": "100"}, headers=headers) as r,
    ):
        assert r.status == 200, await r.text()
        body = await r.json()
    return {n["event"]["event_id"] for n in body["notifications"]}


async def test_scripts_frames_handlers_and_javascript_links_are_removed(rbot, new_member) -> None:
    alice = await new_member("alice")
    rooms = await linked_rooms(alice, rbot, ("fr", "es"))
    fr, es = rooms["fr"], rooms["es"]
    html = (
        "<p>Réunion <b>ce soir</b></p>"
        "<script>alert('script')</script>"
        "<style>body { display: none }</style>"
        '<iframe src="https://evil.example/frame"></iframe>'
        '<img src="x" onerror="alert(\'img\')">'
        '<span onclick="alert(\'click\')" data-mx-color="#ff0000">rouge</span>'
        "<a href=\"javascript:alert('link')\">ouvrir</a> "
        '<a href="JaVaScRiPt:alert(\'link2\')" onmouseover="steal()">aussi</a> '
        '<a href=" javascript:alert(1)">encore</a> '
        '<a href="https://example.org/ordre-du-jour">ordre du jour</a>'
        "<object data='x.swf'></object><embed src='x.swf'><form action='https://evil.example'>"
        "<input name='pw'></form><svg onload=\"alert('svg')\"></svg>"
        "<!-- <script>alert('comment')</script> -->"
        "<mx-reply><blockquote>faux contexte</blockquote></mx-reply>"
    )
    sent = await alice.send_text(fr, "Réunion ce soir", html=html)
    copy = (await alice.wait_for(es, copy_of(rbot.user_id, sent)))["content"]
    formatted = copy["formatted_body"].lower()
    for banned in (
        "<script", "<style", "<iframe", "<object", "<embed", "<form", "<input", "<svg",
        "onerror", "onclick", "onmouseover", "onload", "javascript:", "alert", "steal",
        "display: none", "evil.example", "faux contexte", "<!--", "mx-reply",
    ):  # fmt: skip
        assert banned not in formatted, (banned, copy["formatted_body"])
        assert banned not in copy["body"].lower(), (banned, copy["body"])
    # what is harmless stays: text, bold, colour, a real link
    assert "<b>ce soir</b>" in copy["formatted_body"]
    assert 'data-mx-color="#ff0000"' in copy["formatted_body"]
    assert 'href="https://example.org/ordre-du-jour"' in copy["formatted_body"]
    for word in ("rouge", "ouvrir", "aussi", "encore"):
        assert word in copy["body"]
    assert copy["m.mentions"] == {}


async def test_room_and_mass_mentions_ping_no_one(rbot, new_member) -> None:
    alice = await new_member("alice")
    bob = await new_member("bob")
    rooms = await linked_rooms(alice, rbot, ("fr", "es"))
    fr, es = rooms["fr"], rooms["es"]
    for room in (fr, es):
        await alice.invite(room, bob.user_id)
        await bob.join(room)
        await alice.wait_for(room, joined(bob.user_id))

    # control: a real mention in the target room does light bob's bell
    control = await alice.send_raw(
        es,
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": f"{bob.user_id} ?",
            "m.mentions": {"user_ids": [bob.user_id]},
        },
    )
    await bob.wait_for(es, lambda e: e.get("event_id") == control)
    assert control in await highlights(bob)

    crowd = [f"@user{i}:{alice.hs.server_name}" for i in range(60)] + [bob.user_id]
    bob_name = bob.user_id.split(":")[0][1:]
    body = f"@room @room: {' '.join(crowd)} {bob_name} @Room urgent"
    pills = " ".join(f'<a href="https://matrix.to/#/{u}">{u}</a>' for u in crowd)
    html = (
        f"@room {pills} "
        f'<a href="https://matrix.to/#/%40{bob.user_id[1:]}">{bob_name}</a> '
        f'<a href="matrix:u/{bob.user_id[1:]}">bob</a> {bob_name} @Room urgent'
    )
    mass = await alice.send_raw(
        fr,
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": body,
            "format": "org.matrix.custom.html",
            "formatted_body": html,
            "m.mentions": {"room": True, "user_ids": crowd},
        },
    )
    plain = await alice.send_text(fr, f"@room {bob.user_id}, {bob_name}: tout le monde")
    copies = [
        await bob.wait_for(es, copy_of(rbot.user_id, source), timeout=20)
        for source in (mass, plain)
    ]
    for event in copies:
        content = event["content"]
        assert content["m.mentions"] == {}
        for text in (content["body"], content["formatted_body"]):
            assert "@room" not in text.lower()
            assert bob.user_id not in text
            assert "@user1:" not in text
            assert "matrix.to/#/@" not in text
            assert "matrix.to/#/%40" not in text
            assert "matrix:u/" not in text
        assert "urgent" in content["body"] or "tout le monde" in content["body"]
    # the homeserver computed push actions for these copies: none highlights bob
    bell = await highlights(bob)
    assert control in bell
    assert not {e["event_id"] for e in copies} & bell


async def test_largest_messages_arrive_shortened_with_a_note(rbot, new_member, bot_errors) -> None:
    alice = await new_member("alice")
    rooms = await linked_rooms(alice, rbot, ("fr", "es"))
    fr, es = rooms["fr"], rooms["es"]

    # about as large as the homeserver lets a member send (64 KiB for the whole event)
    words = " ".join(f"mot{i}" for i in range(12_000))
    big_text = words[:62_000]
    big = await alice.send_text(fr, big_text)
    arabic = "تضامن " * 2_850  # two bytes a letter, carried twice (body and HTML)
    big_html = await alice.send_text(fr, arabic, html=f"<p><b>{arabic[:12]}</b>{arabic[12:]}</p>")
    after = await alice.send_text(fr, "Message suivant, normal.")

    for source, start in ((big, "mot0 mot1 mot2"), (big_html, "تضامن تضامن")):
        copy = (await alice.wait_for(es, copy_of(rbot.user_id, source), timeout=30))["content"]
        # counted as the homeserver does: compact UTF-8 JSON (no spaces after , and :)
        size = len(json.dumps(copy, ensure_ascii=False, separators=(",", ":")).encode())
        assert size <= MAX_COPY_BYTES, size
        assert start in copy["body"]
        assert copy["body"].endswith(rbot.app.core.phrases.text("es", SHORTENED)), copy["body"][
            -200:
        ]
        assert f"https://matrix.to/#/{fr}/{source}" in copy["formatted_body"]
        assert "<script" not in copy["formatted_body"]
    # the copy keeps as much as fits, not a token fragment
    first = (await alice.wait_for(es, copy_of(rbot.user_id, big)))["content"]["body"]
    assert len(first) > 20_000
    # a message just under the limit is not cut
    await alice.wait_for(es, copy_of(rbot.user_id, after))
    mid = await alice.send_text(fr, words[:20_000])
    whole = (await alice.wait_for(es, copy_of(rbot.user_id, mid)))["content"]
    assert words[:20_000] in whole["body"]
    assert rbot.app.core.phrases.text("es", SHORTENED) not in whole["body"]
    assert bot_errors() == []


async def test_invisible_and_direction_tricks_are_removed_persian_zwnj_kept(
    rbot, new_member
) -> None:
    alice = await new_member("alice")
    rooms = await linked_rooms(alice, rbot, ("fa", "es"))
    fa, es = rooms["fa"], rooms["es"]
    name = "ali\u202ecod.exe\u200b"
    await alice.client.set_displayname(name)
    await alice.wait_for(
        fa,
        lambda e: (
            e.get("type") == "m.room.member"
            and e.get("state_key") == alice.user_id
            and e["content"].get("displayname") == name
        ),
    )
    persian = "می\u200cخواهم به جلسه بیایم"  # "I want to come to the meeting", ZWNJ after می
    trick = (
        f"{persian} — facture\u202egpj.exe\u202c et \u2066admin\u2069 "
        f"\u2067rtl\u2069 \u2068iso\u2069 ze\u200bro\u200bwidth"
    )
    sent = await alice.send_text(
        fa, trick, html=f"<p>{trick}</p><p>\u202e<b>gras</b>\u202c\u200b</p>"
    )
    copy = (await alice.wait_for(es, copy_of(rbot.user_id, sent)))["content"]
    for text in (copy["body"], copy["formatted_body"]):
        for char in INVISIBLE:
            assert char not in text, (hex(ord(char)), text)
        assert persian in text
        assert ZWNJ in text
        assert "zerowidth" in text
        assert "alicod.exe" in text  # the sender's name, without its direction override
        assert "facturegpj.exe" in text


async def test_malformed_relations_and_missing_fields_are_survived(
    rbot, new_member, bot_errors
) -> None:
    alice = await new_member("alice")
    bob = await new_member("bob")
    rooms = await linked_rooms(alice, rbot, ("fr", "es", "en"))
    fr, es, en = rooms["fr"], rooms["es"], rooms["en"]
    await alice.invite(fr, bob.user_id)
    await bob.join(fr)

    original = await alice.send_text(fr, "Le point de rendez-vous est la gare.")
    es_copy = await alice.wait_for(es, copy_of(rbot.user_id, original))
    in_es = await alice.send_text(es, "El punto de encuentro es la estación.")
    en_copy_of_es = await alice.wait_for(en, copy_of(rbot.user_id, in_es))
    mark_es, mark_en = alice.mark(es), alice.mark(en)

    def msg(body: str, relates: Any) -> dict[str, Any]:
        return {"msgtype": "m.text", "body": body, "m.relates_to": relates}

    hidden = await alice.send_text(fr, "!norelay ceci reste ici")
    # relations of the wrong shape: the text is relayed, the broken relation is not
    relayed_plainly = {
        "string relation": await alice.send_raw(fr, "m.room.message", msg("relation texte", "x")),
        "list relation": await alice.send_raw(fr, "m.room.message", msg("relation liste", [1])),
        "reply not a dict": await alice.send_raw(
            fr, "m.room.message", msg("réponse cassée", {"m.in_reply_to": "$x"})
        ),
        "reply id not a string": await alice.send_raw(
            fr, "m.room.message", msg("réponse nombre", {"m.in_reply_to": {"event_id": 42}})
        ),
        "reply to unknown event": await alice.send_raw(
            fr,
            "m.room.message",
            msg("réponse inconnue", {"m.in_reply_to": {"event_id": "$nope:localhost"}}),
        ),
        "thread of nothing": await alice.send_raw(
            fr,
            "m.room.message",
            msg("fil inconnu", {"rel_type": "m.thread", "event_id": ["$x"], "is_falling_back": 3}),
        ),
        "reply to a message in another room": await alice.send_raw(
            fr, "m.room.message", msg("d'une autre salle", {"m.in_reply_to": {"event_id": in_es}})
        ),
        "rel_type not a string": await alice.send_raw(
            fr, "m.room.message", msg("type bizarre", {"rel_type": {"x": 1}, "event_id": 7})
        ),
    }
    # edits that must not become edits of any copy
    not_edits = {
        "edit of a message never relayed": await alice.send_raw(
            fr,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "* corrigé",
                "m.new_content": {"msgtype": "m.text", "body": "corrigé"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": hidden},
            },
        ),
        "edit without new content": await alice.send_raw(
            fr,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "* rien",
                "m.new_content": "rien",
                "m.relates_to": {"rel_type": "m.replace", "event_id": original},
            },
        ),
        "someone else's message": await bob.edit(fr, original, "Bob réécrit le message d'Alice"),
    }
    # events missing fields or with fields of the wrong type (Synapse itself insists on a
    # string body and msgtype in m.room.message, not in what an edit carries): ignored
    ignored = {
        "edit with no body": await alice.send_raw(
            fr,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "* vide",
                "m.new_content": {"msgtype": "m.text"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": original},
            },
        ),
        "edit with a body not a string": await alice.send_raw(
            fr,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "* objet",
                "m.new_content": {"msgtype": "m.text", "body": {"a": 1}},
                "m.relates_to": {"rel_type": "m.replace", "event_id": original},
            },
        ),
        "edit with no msgtype": await alice.send_raw(
            fr,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "* sans type",
                "m.new_content": {"body": "sans type"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": original},
            },
        ),
        "message of an unknown msgtype": await alice.send_raw(
            fr, "m.room.message", {"msgtype": "org.example.weird", "body": "bizarre"}
        ),
        "empty sticker": await alice.send_raw(fr, "m.sticker", {}),
        "sticker of wrong types": await alice.send_raw(
            fr, "m.sticker", {"body": 5, "url": ["x"], "info": "y"}
        ),
        "garbage ciphertext": await alice.send_raw(
            fr,
            "m.room.encrypted",
            {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": 5, "session_id": None},
        ),
        "empty encrypted event": await alice.send_raw(fr, "m.room.encrypted", {}),
        "reaction without relation": await alice.send_raw(fr, "m.reaction", {}),
        "reaction with bad key": await alice.send_raw(
            fr,
            "m.reaction",
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": original, "key": ""}},
        ),
    }
    # wrong types in the optional fields: relayed, the bad field left out
    odd_html = await alice.send_raw(
        fr,
        "m.room.message",
        {"msgtype": "m.text", "body": "html bizarre", "format": 3, "formatted_body": ["<b>"]},
    )
    odd_media = await alice.send_raw(
        fr,
        "m.room.message",
        {"msgtype": "m.image", "body": "photo.png", "url": 12, "info": "grande"},
    )
    # redactions of messages never relayed
    await alice.redact(fr, hidden)
    await alice.redact(fr, ignored["message of an unknown msgtype"])
    await alice.redact(es, in_es)  # relayed from es: its copy in en goes, nothing in fr
    probe = await alice.send_text(fr, "Tout va bien, on continue.")

    await alice.wait_for(es, copy_of(rbot.user_id, probe), timeout=30)
    await alice.wait_for(en, copy_of(rbot.user_id, probe), timeout=30)
    await alice.wait_for(en, redaction_of(en_copy_of_es["event_id"]), timeout=30)

    from_bot_es = bot_events(alice, es, rbot.user_id, mark_es)
    from_bot_en = bot_events(alice, en, rbot.user_id, mark_en)
    seen_es, seen_en = sources(from_bot_es), sources(from_bot_en)
    for name, event_id in relayed_plainly.items():
        assert event_id in seen_es, name
        if name == "reply to a message in another room":
            continue  # it answers the Spanish message, which is where that copy lands
        copy = next(e for e in from_bot_es if copy_of(rbot.user_id, event_id)(e))
        assert "m.relates_to" not in copy["content"], (name, copy["content"])
    for name, event_id in {**not_edits, **ignored}.items():
        assert event_id not in seen_es | seen_en, name
    assert not any(
        e["content"].get("m.relates_to", {}).get("rel_type") == "m.replace" for e in from_bot_es
    )
    html_copy = next(e for e in from_bot_es if copy_of(rbot.user_id, odd_html)(e))["content"]
    assert "html bizarre" in html_copy["body"]
    assert "<b>" not in html_copy["formatted_body"]
    assert odd_media in seen_es
    # no redaction for messages that were never relayed, and the Spanish copy stays
    redactions = [e for e in from_bot_es if e.get("type") == "m.room.redaction"]
    assert redactions == []
    assert es_copy["event_id"] not in str(from_bot_es)
    in_fr = bot_events(alice, fr, rbot.user_id, 0)
    fr_copy_of_es = next(e["event_id"] for e in in_fr if copy_of(rbot.user_id, in_es)(e))
    removed_in_fr = [
        e.get("redacts") or e["content"].get("redacts")
        for e in in_fr
        if e.get("type") == "m.room.redaction"
    ]
    assert set(removed_in_fr) <= {fr_copy_of_es}
    # the bot is alive: a normal message still goes through
    last = await alice.send_text(fr, "Dernier message.")
    copy = await alice.wait_for(es, copy_of(rbot.user_id, last), timeout=20)
    assert "Dernier message." in copy["content"]["body"]
    assert bot_errors() == []
