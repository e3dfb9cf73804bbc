"""Messages older than the relay map's horizon, as members meet them on a real homeserver.

Once the retention job has pruned a message from the relay map, its copies can no longer be
found: the author's edit comes as a new message with a note, a removal leaves the copies and
the room is told why, a reply arrives without its link, a thread on it goes on outside any
thread (its root is not copied twice); what the relay never copied (a
message marked not to be relayed) stays where it was, edited or not.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.matrix.client import LIAISON_KEY
from bot.core.storage.database import utcnow
from bot.relay import store as relay_store
from bot.relay.service import EDIT_PAST_HORIZON, REDACTION_PAST_HORIZON
from tests.integration.test_relay_support import copy_of, linked_rooms, redaction_of, relay_bot
from tests.support.i18n import said

pytestmark = pytest.mark.integration


async def test_edit_reply_and_removal_of_a_message_past_the_horizon(
    synapse, apertium, new_member, tmp_path
) -> None:
    bot = relay_bot(synapse, tmp_path / "bot", apertium.url)
    await bot.start()
    try:
        alice = await new_member("alice")
        rooms = await linked_rooms(alice, bot, ("fr", "es"))
        fr, es = rooms["fr"], rooms["es"]
        original = await alice.send_text(fr, "Le marché est fermé aujourd'hui.")
        es_copy = await alice.wait_for(es, copy_of(bot.user_id, original))
        hidden = await alice.send_text(fr, "!norelay La réunion est secrète.")
        probe = await alice.send_text(fr, "La réunion commence à midi.")
        await alice.wait_for(es, copy_of(bot.user_id, probe))

        # ninety-one days later, as far as the relay map knows: the daily job prunes it
        assert bot.app is not None
        run = await bot.app.retention.run(now=utcnow() + timedelta(days=91))
        assert run.erased["relay_map"] >= 4  # two messages and their copies
        assert relay_store.source(bot.app.db, original) is None

        # the author's edit: a new message in the other room, with the note, not lost
        mark = alice.mark(es)
        edit = await alice.edit(fr, original, "Le marché est ouvert demain.")
        copy = await alice.wait_for(es, copy_of(bot.user_id, edit))
        content = copy["content"]
        assert "m.relates_to" not in content  # nothing left to replace
        assert "m.new_content" not in content
        assert "El mercado" in content["body"]
        assert said("es", EDIT_PAST_HORIZON) in content["body"]
        assert f"{fr}/{original}" in content["formatted_body"]  # it links to the original

        # a reply to the old copy comes through, without a link it could not find
        reply = await alice.send_text(es, "Gracias.", reply_to=es_copy["event_id"])
        fr_reply = await alice.wait_for(fr, copy_of(bot.user_id, reply))
        assert "m.relates_to" not in fr_reply["content"]

        # a thread on the old original goes on outside any thread; the root is not copied again
        in_thread = await alice.send_raw(
            fr,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "Et le marché de dimanche ?",
                "m.relates_to": {
                    "rel_type": "m.thread",
                    "event_id": original,
                    "is_falling_back": True,
                    "m.in_reply_to": {"event_id": original},
                },
            },
        )
        threaded = await alice.wait_for(es, copy_of(bot.user_id, in_thread))
        assert "m.relates_to" not in threaded["content"]
        assert len([e for e in alice.events(es) if copy_of(bot.user_id, original)(e)]) == 1

        # the edit of a message that was never relayed stays where it was
        await alice.edit(fr, hidden, "!norelay La réunion est toujours secrète.")
        second_probe = await alice.send_text(fr, "La réunion finit à midi.")
        await alice.wait_for(es, copy_of(bot.user_id, second_probe))
        for event in alice.events(es)[mark:]:
            assert "secr" not in str(event.get("content", {})), event

        # removing the old original: the copy stays, and the room hears why
        await alice.redact(fr, original)
        notice = await alice.wait_for(
            fr,
            lambda e: (
                e.get("sender") == bot.user_id
                and e.get("content", {}).get(LIAISON_KEY, {}).get("kind") == "relay-note"
            ),
        )
        assert notice["content"]["body"] == said("fr", REDACTION_PAST_HORIZON)
        assert notice["content"]["msgtype"] == "m.notice"
        # the removal of a recent message still takes its copy with it
        await alice.redact(fr, second_probe)
        await alice.wait_for(es, redaction_of(alice_copy_id(alice, es, bot.user_id, second_probe)))
        assert not any(redaction_of(es_copy["event_id"])(e) for e in alice.events(es))
    finally:
        await bot.stop()


def alice_copy_id(alice, room: str, bot_user_id: str, source: str) -> str:  # type: ignore[no-untyped-def]
    found = [e for e in alice.events(room) if copy_of(bot_user_id, source)(e)]
    assert found, source
    return str(found[0]["event_id"])
