"""Rooms and members on another homeserver, through real federation between two Synapses.

The bot lives on the session's homeserver; a second one (``remote_synapse``, started once for
these tests) hosts a member and a room of its own. Both speak federation over TLS on loopback,
with certificates from the run's throwaway authority.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.core.matrix.client import LIAISON_KEY
from bot.dev.devserver.synapse import LocalSynapse
from tests.integration.test_relay_support import copy_of, relay_bot
from tests.support.botharness import BotHarness
from tests.support.i18n import says
from tests.support.members import Member
from tests.support.predicates import joined, reply_to, room_with_bot
from tests.support.relaygroup import ask, is_linked_answer, join_group, request_id

pytestmark = pytest.mark.integration

SAMPLES = 8
# a 1x1 PNG: a real image a member's client could show
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2cf6b4e0000000049454e44ae426082"
)

Predicate = Callable[[dict[str, Any]], bool]


@pytest.fixture
async def fbot(
    synapse: LocalSynapse, remote_synapse: LocalSynapse, apertium: Any, tmp_path: Path
) -> AsyncIterator[BotHarness]:
    """A bot on the first homeserver that accepts invites from both."""
    harness = relay_bot(
        synapse,
        tmp_path / "bot",
        apertium.url,
        bot={"allowed_inviters": [synapse.server_name, remote_synapse.server_name]},
    )
    await harness.start()
    yield harness
    await harness.stop()


async def remote_room(owner: Member, bot_user_id: str, name: str) -> str:
    """A room hosted on ``owner``'s homeserver, with a bot from another one invited and in."""
    room = await owner.create_room(name=name, invite=[bot_user_id])
    await owner.wait_for(room, joined(bot_user_id), timeout=30)
    return room


async def latency(send: Callable[[], Any], see: Callable[[str], Any]) -> float:
    """Milliseconds from sending to the other side's sync showing it (or its copy)."""
    began = time.monotonic()
    event_id = await send()
    await see(event_id)
    return (time.monotonic() - began) * 1000


def figures(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"p50 {statistics.median(ordered):.0f} ms, max {ordered[-1]:.0f} ms"


async def test_a_room_and_member_on_another_homeserver(
    fbot: BotHarness, synapse, remote_synapse, new_member, remote_member
) -> None:
    alice = await new_member("alice")
    bob = await remote_member("bob")
    carol = await remote_member("carol")
    assert bob.user_id.endswith(f":{remote_synapse.server_name}")
    await bob.set_display_name("Bob de Tunis")

    fr = await room_with_bot(alice, fbot.user_id, name="federated-fr")
    assert is_linked_answer(await ask(alice, fr, "!relay link mujawara fr"), "fr", "mujawara")

    # a room on the other homeserver: its creator is its admin there, and links it
    es = await remote_room(bob, fbot.user_id, "federated-es")
    await bob.invite(es, carol.user_id)
    await carol.join(es)
    refused = await ask(carol, es, "!relay link mujawara es")
    assert says(
        "en", "Only room admins (power level {level} or more) may use this command.", refused
    ), refused
    # a room joining the group waits for its steward, on whichever homeserver either lives
    await join_group(alice, fr, bob, es, "mujawara", "es")

    # both ways, translated, attributed with the remote member's display name
    market = await alice.send_text(fr, "Le marché est fermé aujourd'hui.")
    market_es = await bob.wait_for(es, copy_of(fbot.user_id, market), timeout=30)
    assert "El mercado está cerrado hoy" in market_es["content"]["body"]
    thanks = await bob.send_text(es, "Gracias por la información.")
    thanks_fr = await alice.wait_for(fr, copy_of(fbot.user_id, thanks), timeout=30)
    assert thanks_fr["content"]["body"].startswith("Bob de Tunis [es]:")
    assert "Merci" in thanks_fr["content"]["body"]

    # a mention of the remote member pings nobody through the relay, and reads as a name
    pill = f'<a href="https://matrix.to/#/{bob.user_id}">Bob de Tunis</a>'
    mention = await alice.send_raw(
        fr,
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": "Bob de Tunis : merci !",
            "format": "org.matrix.custom.html",
            "formatted_body": f"{pill} : merci !",
            "m.mentions": {"user_ids": [bob.user_id]},
        },
    )
    mention_es = await bob.wait_for(es, copy_of(fbot.user_id, mention), timeout=30)
    assert mention_es["content"]["m.mentions"] == {}
    assert "Bob de Tunis" in mention_es["content"]["formatted_body"]
    assert f"matrix.to/#/{bob.user_id}" not in mention_es["content"]["formatted_body"]

    # media stored on the remote homeserver: the copy points at it, and members here fetch it
    mxc = await bob.upload(PNG, "image/png", "affiche.png")
    assert mxc.startswith(f"mxc://{remote_synapse.server_name}/")
    image = await bob.send_raw(
        es,
        "m.room.message",
        {
            "msgtype": "m.image",
            "body": "affiche.png",
            "url": mxc,
            "info": {"mimetype": "image/png", "size": len(PNG)},
        },
    )
    image_fr = await alice.wait_for(fr, copy_of(fbot.user_id, image), timeout=30)
    assert image_fr["content"]["url"] == mxc
    assert await alice.download(image_fr["content"]["url"]) == PNG

    # the relay's latency across federation against a plain message crossing it, same run
    plain = await bob.create_room(name="plain", invite=[alice.user_id])
    await alice.join(plain)
    runs: dict[str, list[float]] = {
        key: [] for key in ("plain in", "relay in", "plain out", "relay out")
    }
    for n in range(SAMPLES):
        runs["plain in"].append(
            await latency(
                lambda n=n: bob.send_text(plain, f"message simple {n}"),
                lambda e: alice.wait_for(plain, lambda ev: ev["event_id"] == e),
            )
        )
        runs["relay in"].append(
            await latency(
                lambda n=n: bob.send_text(es, f"Mensaje número {n} para la asamblea."),
                lambda e: alice.wait_for(fr, copy_of(fbot.user_id, e), timeout=30),
            )
        )
        runs["plain out"].append(
            await latency(
                lambda n=n: alice.send_text(plain, f"simple message {n}"),
                lambda e: bob.wait_for(plain, lambda ev: ev["event_id"] == e),
            )
        )
        runs["relay out"].append(
            await latency(
                lambda n=n: alice.send_text(fr, f"Message numéro {n} pour l'assemblée."),
                lambda e: bob.wait_for(es, copy_of(fbot.user_id, e), timeout=30),
            )
        )
    lines = [
        f"federation latency over {SAMPLES} messages each "
        f"({remote_synapse.server_name} -> {synapse.server_name} is 'in'):",
        *(f"  {key:9} {figures(samples)}" for key, samples in runs.items()),
    ]
    print("\n" + "\n".join(lines))  # noqa: T201
    assert all(len(samples) == SAMPLES for samples in runs.values())


async def test_two_liaisons_on_two_homeservers_copy_each_message_once(
    synapse, remote_synapse, tmp_path, new_member, remote_member
) -> None:
    """One Liaison per homeserver: each relays out of its own rooms and into the others."""
    servers = [synapse.server_name, remote_synapse.server_name]
    here = BotHarness(synapse, tmp_path / "here", bot={"allowed_inviters": servers})
    there = BotHarness(
        remote_synapse,
        tmp_path / "there",
        bot={"allowed_inviters": servers, "command_prefix": "tunis:"},
    )
    try:
        await here.start()
        await there.start()
        alice = await new_member("alice")
        bob = await remote_member("bob")
        fr = await alice.create_room(name="paris", invite=[here.user_id, there.user_id])
        es = await bob.create_room(name="tunis", invite=[here.user_id, there.user_id])
        for member, room in ((alice, fr), (bob, es)):
            for bot in (here, there):
                await member.wait_for(room, joined(bot.user_id), timeout=30)

        # each room is relayed out by the Liaison of its own homeserver, received by the other
        commands = [
            (alice, fr, there, "tunis: relay link mujawara fr receive", "fr", "receive"),
            (alice, fr, here, "!relay link mujawara fr", "fr", "two-way"),
            (bob, es, here, "!relay link mujawara es receive", "es", "receive"),
            (bob, es, there, "tunis: relay link mujawara es", "es", "two-way"),
        ]
        asked: list[tuple[Member, str, BotHarness, str]] = []
        requests: list[tuple[BotHarness, str]] = []
        for member, room, bot, text, lang, mode in commands:
            sent = await member.send_text(room, text)
            answer = await member.wait_for(room, reply_to(sent), timeout=30)
            assert answer["sender"] == bot.user_id
            asked.append((member, room, bot, sent))
            body = answer["content"]["body"]
            if member is alice:  # her room creates the group each Liaison keeps: its steward
                assert is_linked_answer(body, lang, "mujawara", mode), answer
                continue
            requests.append((bot, request_id(body, lang, "mujawara")))
        # Bob's room joins each Liaison's group once Alice, its steward there, approves; first
        # with the other homeserver's Liaison, while Bob's room still waits here (a command for
        # one Liaison is a plain message to the other, relayed once rooms receive)
        for bot, request in sorted(requests, key=lambda item: item[0] is here):
            prefix = "tunis: " if bot is there else "!"
            approve = await alice.send_text(fr, f"{prefix}relay approve {request}")
            approved = await alice.wait_for(fr, reply_to(approve), timeout=30)
            assert approved["sender"] == bot.user_id
            assert f"`{request}`" in approved["content"]["body"], approved
            asked.append((alice, fr, bot, approve))

        hello = await alice.send_text(fr, "Bonjour de Paris.")
        hello_es = await bob.wait_for(es, copy_of(here.user_id, hello), timeout=30)
        reply = await bob.send_text(es, "Hola desde Túnez.", reply_to=hello_es["event_id"])
        reply_fr = await alice.wait_for(fr, copy_of(there.user_id, reply), timeout=30)
        assert reply_fr["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == hello
        again = await alice.send_text(fr, "Encore un mot.")
        await bob.wait_for(es, copy_of(here.user_id, again), timeout=30)
        # Each Liaison handles a room's events in order and sends into a room in order: had
        # one of them relayed the other's copy, that copy would have arrived before the next
        # copy each side just waited for. So what is there now is all there is.
        edit = await alice.edit(fr, hello, "Bonjour de Paris, à tous.")
        edit_es = await bob.wait_for(es, copy_of(here.user_id, edit), timeout=30)
        assert edit_es["content"]["m.relates_to"]["event_id"] == hello_es["event_id"]
        # a reaction on one Liaison's copy reaches the original through the other Liaison
        liked = await bob.react(es, hello_es["event_id"], "👍")
        like_fr = await alice.wait_for(fr, copy_of(there.user_id, liked), timeout=30)
        assert like_fr["content"]["m.relates_to"] == {
            "rel_type": "m.annotation",
            "event_id": hello,
            "key": "👍",
        }
        last = await bob.send_text(es, "Hasta pronto.")
        await alice.wait_for(fr, copy_of(there.user_id, last), timeout=30)

        def copies(member: Member, room: str) -> list[tuple[str, str]]:
            return [
                (e["sender"], e["content"][LIAISON_KEY]["source"])
                for e in member.events(room)
                if e.get("content", {}).get(LIAISON_KEY, {}).get("kind") == "relay"
            ]

        assert copies(bob, es) == [
            (here.user_id, hello),
            (here.user_id, again),
            (here.user_id, edit),
        ]
        assert copies(alice, fr) == [
            (there.user_id, reply),
            (there.user_id, liked),
            (there.user_id, last),
        ]
        # every command was answered by the Liaison it was meant for, and only by it
        for member, room, bot, sent in asked:
            answered_by = {e["sender"] for e in member.events(room) if reply_to(sent)(e)}
            assert answered_by == {bot.user_id}
    finally:
        await here.stop()
        await there.stop()
