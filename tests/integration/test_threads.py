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
from tests.support.predicates import from_bot, reply_to

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

    # a thread whose root was never relayed starts, in the other room, from a copy of it
    await ask_in_thread(alice, fr, root, "!relay pause")
    unrelayed = await alice.send_text(fr, "Qui vient au marché samedi ?")
    await ask_in_thread(alice, fr, root, "!relay resume")
    late = await in_thread(alice, fr, unrelayed, "Moi, je viens.")
    late_es = await bob.wait_for(es, copy_of(rbot.user_id, late))
    root_copy = next(e for e in bob.events(es) if copy_of(rbot.user_id, unrelayed)(e))
    assert thread_of(late_es) == root_copy["event_id"]
    assert bob.events(es).index(root_copy) < bob.events(es).index(late_es)

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
