"""Threads as members use them: answers, relayed copies and gathering notices stay in them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.integration.test_relay_support import (
    copy_of,
    linked_rooms,
    redaction_of,
    relay_bot,
)
from tests.support.botharness import BotHarness
from tests.support.i18n import said_pattern
from tests.support.members import Member
from tests.support.predicates import from_bot, reply_to, room_with_bot
from tests.support.relaygroup import ask, is_linked_answer

pytestmark = pytest.mark.integration

Predicate = Callable[[dict[str, Any]], bool]


@pytest.fixture
async def rbot(synapse, apertium, tmp_path) -> AsyncIterator[BotHarness]:  # type: ignore[no-untyped-def]
    harness = relay_bot(synapse, tmp_path / "bot", apertium.url)
    await harness.start()
    yield harness
    await harness.stop()


def thread_of(event: dict[str, Any]) -> str | None:
    relates = event.get("content", {}).get("m.relates_to", {})
    return relates.get("event_id") if relates.get("rel_type") == "m.thread" else None


async def in_thread(member: Member, room: str, root: str, body: str) -> str:
    """Post ``body`` into the thread of ``root`` the way a threaded client does."""
    content = {
        "msgtype": "m.text",
        "body": body,
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root},
        },
    }
    return await member.send_raw(room, "m.room.message", content)


async def ask_in_thread(member: Member, room: str, root: str, text: str) -> dict[str, Any]:
    sent = await in_thread(member, room, root, text)
    return await member.wait_for(room, reply_to(sent), timeout=30)


def kind_in_thread(bot_user_id: str, kind: str, root: str) -> Predicate:
    match = from_bot(bot_user_id, kind=kind)
    return lambda event: match(event) and thread_of(event) == root


async def test_threads_across_the_group(rbot, new_member) -> None:
    alice = await new_member("alice")
    bob = await new_member("bob")
    rooms = await linked_rooms(alice, rbot, ("fr", "es"))
    fr, es = rooms["fr"], rooms["es"]
    await alice.invite(es, bob.user_id)
    await bob.join(es)

    # a thread started in the French room exists in the Spanish room around the root's copy
    root = await alice.send_text(fr, "Ordre du jour de l'assemblée.")
    root_es = (await bob.wait_for(es, copy_of(rbot.user_id, root)))["event_id"]
    first = await in_thread(alice, fr, root, "Le marché est fermé aujourd'hui.")
    first_es = await bob.wait_for(es, copy_of(rbot.user_id, first))
    assert thread_of(first_es) == root_es
    assert "El mercado está cerrado hoy" in first_es["content"]["body"]

    # and the other way round: an answer in the Spanish thread reaches the French thread
    answer = await in_thread(bob, es, root_es, "Gracias por la información.")
    answer_fr = await alice.wait_for(fr, copy_of(rbot.user_id, answer))
    assert thread_of(answer_fr) == root
    assert "Merci" in answer_fr["content"]["body"]

    # edits and removals in the thread follow their copies
    edit = await alice.edit(fr, first, "La réunion commence à midi.")
    edit_es = await bob.wait_for(es, copy_of(rbot.user_id, edit))
    assert edit_es["content"]["m.relates_to"] == {
        "rel_type": "m.replace",
        "event_id": first_es["event_id"],
    }
    assert "La reunión comienza a mediodía" in edit_es["content"]["m.new_content"]["body"]
    await bob.redact(es, answer)
    gone = await alice.wait_for(fr, redaction_of(answer_fr["event_id"]))
    assert gone["sender"] == rbot.user_id

    # a command typed in a thread is answered in that thread, refusals too
    status = await ask_in_thread(alice, fr, root, "!relay status")
    assert thread_of(status) == root
    assert status["content"]["m.relates_to"]["is_falling_back"] is False
    refused = await ask_in_thread(alice, fr, root, "!event show zzzz")
    assert thread_of(refused) == root
    assert "`zzzz`" in refused["content"]["body"]

    # what was said while the room was paused stays here, even when a thread grows on it
    await ask_in_thread(alice, fr, root, "!relay pause")
    private = await alice.send_text(fr, "Entre nous : la clé est chez Samia.")
    await ask_in_thread(alice, fr, root, "!relay resume")
    follow = await in_thread(alice, fr, private, "Moi, je viens.")
    follow_es = await bob.wait_for(es, copy_of(rbot.user_id, follow))
    assert thread_of(follow_es) is None
    assert not any(copy_of(rbot.user_id, private)(e) for e in bob.events(es))

    # a root that went out when no room received it reaches them with the thread's first reply
    await ask(bob, es, "!relay pause")
    lonely = await alice.send_text(fr, "Qui vient au marché samedi ?")
    await ask(bob, es, "!relay resume")
    late = await in_thread(alice, fr, lonely, "Nous venons à trois.")
    late_es = await bob.wait_for(es, copy_of(rbot.user_id, late))
    lonely_es = next(e for e in bob.events(es) if copy_of(rbot.user_id, lonely)(e))
    assert thread_of(late_es) == lonely_es["event_id"]
    assert bob.events(es).index(lonely_es) < bob.events(es).index(late_es)

    # a room that joins the group later gets the root's copy before the thread's next message
    en = await room_with_bot(alice, rbot.user_id, name="assembly-en")
    assert is_linked_answer(await ask(alice, en, "!relay link mujawara en"), "en", "mujawara")
    more = await in_thread(alice, fr, root, "La salle est réservée.")
    more_en = await alice.wait_for(en, copy_of(rbot.user_id, more))
    root_en = next(e for e in alice.events(en) if copy_of(rbot.user_id, root)(e))
    assert thread_of(more_en) == root_en["event_id"]
    more_es = await bob.wait_for(es, copy_of(rbot.user_id, more))
    assert thread_of(more_es) == root_es
    assert sum(copy_of(rbot.user_id, root)(e) for e in bob.events(es)) == 1

    # a gathering announced in the thread: its notices and reminders stay in it, in each room
    created = await alice.wait_for(
        fr,
        reply_to(
            await alice.send_text(
                fr, "!event add Assemblée | dans 30s | ici | rappels: 20s | capacité: 1"
            )
        ),
        timeout=30,
    )
    found = said_pattern("fr", "Gathering {id} created.", id=re.compile(r"`(?P<id>\w+)`")).search(
        created["content"]["body"]
    )
    assert found, created["content"]["body"]
    gathering = found.group("id")
    announced = await ask_in_thread(alice, fr, root, f"!event announce {gathering}")
    assert thread_of(announced) == root
    post_fr = await alice.wait_for(fr, kind_in_thread(rbot.user_id, "announcement", root))
    await bob.wait_for(es, kind_in_thread(rbot.user_id, "announcement", root_es))

    going = await bob.send_text(es, f"!event rsvp {gathering} sí")
    await bob.wait_for(es, reply_to(going))
    await alice.react(fr, post_fr["event_id"], "✅")  # capacity 1: she waits
    waiting = await alice.wait_for(fr, from_bot(rbot.user_id, kind="gathering-rsvp"))
    assert thread_of(waiting) == root
    assert waiting["content"]["m.mentions"] == {"user_ids": [alice.user_id]}
    mark = alice.mark(fr)
    await bob.send_text(es, f"!event rsvp {gathering} no")  # bob's place goes to alice
    promoted = await alice.wait_for(fr, from_bot(rbot.user_id, kind="gathering-rsvp"), after=mark)
    assert thread_of(promoted) == root

    reminder_fr = await alice.wait_for(
        fr, from_bot(rbot.user_id, kind="gathering-reminder"), timeout=40
    )
    reminder_es = await bob.wait_for(
        es, from_bot(rbot.user_id, kind="gathering-reminder"), timeout=40
    )
    assert thread_of(reminder_fr) == root
    assert thread_of(reminder_es) == root_es
