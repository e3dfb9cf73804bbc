"""Relay groups join by consent, against the real homeserver.

A stranger's room asks and gets nothing until a steward approves; a refused room gets nothing;
a join code lets one room in, once, until it expires; an expelled room stops at once; a
steward demoted in their room loses the powers at their next command; stewardship is handed
over; every change is in the history and announced in the steward rooms.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest

from bot.core.matrix.client import LIAISON_KEY
from bot.core.storage.database import utcnow
from bot.relay.notices import ACTIONS, MODE_LABELS
from tests.integration.test_relay_support import command, copy_of
from tests.integration.test_threads import in_thread
from tests.support.botharness import BotHarness
from tests.support.i18n import said, said_pattern, says
from tests.support.members import Member
from tests.support.predicates import joined, room_with_bot
from tests.support.relaygroup import is_linked_answer, request_id

pytestmark = pytest.mark.integration

CODE_LIFETIME = 3  # seconds: the configured default, so the expiry test waits little


def group_notice(bot_user_id: str, pattern: re.Pattern[str]) -> Any:
    """A post of the bot about a relay group whose text matches ``pattern``."""

    def match(event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        return (
            event.get("sender") == bot_user_id
            and content.get(LIAISON_KEY, {}).get("kind") == "relay-group"
            and pattern.search(str(content.get("body", ""))) is not None
        )

    return match


async def barrier(member: Member, room: str) -> None:
    """Everything the bot queued for ``room`` before now has arrived: a reply is sent after it."""
    await command(member, room, "!room info")


def got(member: Member, room: str, source: str, bot_user_id: str) -> bool:
    return any(copy_of(bot_user_id, source)(e) for e in member.events(room))


async def test_joining_by_request_code_and_expulsion_with_the_stewards_told(
    synapse, new_member, tmp_path
) -> None:
    bot = BotHarness(synapse, tmp_path / "bot", relay={"join_code_lifetime": f"{CODE_LIFETIME}s"})
    await bot.start()
    try:
        await consent_story(bot, new_member)
    finally:
        await bot.stop()


async def consent_story(bot: BotHarness, new_member: Any) -> None:
    me = bot.user_id
    alice, bob, dana, erin, frank, gina = await asyncio.gather(
        *(new_member(n) for n in ("alice", "bob", "dana", "erin", "frank", "gina"))
    )
    group = "consent"
    home = await room_with_bot(alice, me, name="home", power_users={bob.user_id: 50})
    es = await room_with_bot(alice, me, name="madrid")
    await alice.invite(home, bob.user_id)
    await bob.join(home)
    await alice.wait_for(home, joined(bob.user_id))
    answer = await command(alice, home, f"!relay link {group} fr")
    assert is_linked_answer(answer, "fr", group), answer
    # Alice is a steward (an admin of the steward room): her second room is linked at once
    assert is_linked_answer(await command(alice, es, f"!relay link {group} es"), "es", group)

    # ---- a stranger's room asks: the stewards are told, the room gets nothing ----------------
    outside = await room_with_bot(dana, me, name="outsider")
    mark_home = alice.mark(home)
    asked = await command(dana, outside, f"!relay link {group} en")
    request = request_id(asked, "en", group)
    notice = await alice.wait_for(
        home,
        group_notice(
            me,
            said_pattern(
                "fr",
                ACTIONS["request"][0],
                request=f"`{request}`",
                actor=f"`{dana.user_id}`",
                room=f"`outsider` (`{outside}`)",
                group=f"`{group}`",
                mode=said("fr", MODE_LABELS["two-way"]),
                members=1,
                encryption=said("fr", "not encrypted"),
            ),
        ),
        after=mark_home,
    )
    assert f"!relay approve {request}" in notice["content"]["body"]
    probe = await alice.send_text(home, "Assemblée ce soir")
    await alice.wait_for(es, copy_of(me, probe))
    from_outside = await dana.send_text(outside, "Hello, may we read you?")
    await barrier(dana, outside)
    await barrier(alice, home)
    assert not got(dana, outside, probe, me)
    assert not got(alice, home, from_outside, me)
    # asking again is no way round it
    assert request in await command(dana, outside, f"!relay link {group} en receive")

    # ---- a steward approves: relayed both ways from then on -----------------------------------
    mark_outside = dana.mark(outside)
    approved = await command(alice, home, f"!relay approve {request}")
    assert f"`{request}`" in approved, approved
    assert "`outsider`" in approved, approved
    await dana.wait_for(
        outside,
        group_notice(
            me,
            said_pattern("en", ACTIONS["approved"][1], group=f"`{group}`"),
        ),
        after=mark_outside,
    )
    probe = await alice.send_text(home, "Bienvenue")
    await dana.wait_for(outside, copy_of(me, probe))
    reply = await dana.send_text(outside, "Thank you, comrades")
    await alice.wait_for(home, copy_of(me, reply))
    await alice.wait_for(es, copy_of(me, reply))

    # ---- refused: nothing relayed, the room is told why ---------------------------------------
    elsewhere = await room_with_bot(erin, me, name="elsewhere")
    refused_id = request_id(await command(erin, elsewhere, f"!relay link {group} en"), "en", group)
    mark = erin.mark(elsewhere)
    await command(alice, home, f"!relay refuse {refused_id} We do not know you yet")
    told = await erin.wait_for(
        elsewhere,
        group_notice(me, said_pattern("en", ACTIONS["refused"][1], group=f"`{group}`")),
        after=mark,
    )
    assert "We do not know you yet" in told["content"]["body"]
    probe = await alice.send_text(home, "Réunion demain")
    await dana.wait_for(outside, copy_of(me, probe))
    await barrier(erin, elsewhere)
    assert not got(erin, elsewhere, probe, me)

    # ---- a join code: one room, once; an expired code lets nobody in --------------------------
    issued = await command(alice, home, "!relay code 1h")
    code = re.search(r"code:([a-z0-9-]+)", issued)
    assert code, issued
    frank_room = await room_with_bot(frank, me, name="frankfurt")
    assert is_linked_answer(
        await command(frank, frank_room, f"!relay link {group} de code:{code[1]}"), "de", group
    )
    gina_room = await room_with_bot(gina, me, name="genova")
    invalid = said(
        "en",  # a refused link changes nothing, not even the room's language
        "This join code is not valid for the relay group {group}: it is unknown, used already or expired. Ask a steward for a new one, or link without a code to send them a request.",
        group=f"`{group}`",
    )
    assert invalid in await command(gina, gina_room, f"!relay link {group} it code:{code[1]}")
    short = await command(alice, home, "!relay code")  # the configured lifetime: seconds
    short_code = re.search(r"code:([a-z0-9-]+)", short)
    assert short_code, short
    # its time is up: the stored expiry is moved into the past rather than waited for
    assert bot.app is not None
    bot.app.db.execute(
        "UPDATE relay_codes SET expires_at = ? WHERE used_at IS NULL",
        ((utcnow() - timedelta(seconds=1)).isoformat(),),
    )
    assert invalid in await command(gina, gina_room, f"!relay link {group} it code:{short_code[1]}")
    assert bot.app is not None
    assert bot.app.core.rooms.language(gina_room) == "en"  # not the "it" it asked for
    probe = await alice.send_text(home, "Le code a servi")
    await frank.wait_for(frank_room, copy_of(me, probe))
    await barrier(gina, gina_room)
    assert not got(gina, gina_room, probe, me)

    # ---- a plain room's admin acts on their own room only -------------------------------------
    refusal = await command(dana, outside, "!relay glossary add Pirates")
    assert says(
        "en",
        "Only the stewards of the relay group {group} may change its glossary (admins of its steward rooms, listed by {command}).",
        refusal,
        group=f"`{group}`",
    ), refusal
    assert "Only" in await command(dana, outside, f"!relay remove {home}")

    # ---- a steward demoted in their room loses the powers at their next command -------------
    assert "`Mujawara`" in await command(bob, home, "!relay glossary add Mujawara")
    await alice.set_power_level(home, bob.user_id, 0)
    assert says(
        "fr",
        "Only the stewards of the relay group {group} may change its glossary (admins of its steward rooms, listed by {command}).",
        await command(bob, home, "!relay glossary add Zapatistas"),
    )
    assert says(
        "fr",
        "Only room admins (power level {level} or more) may use this command.",
        await command(bob, home, "!relay audit"),
    )

    # ---- expelled: nothing relayed to or from it at once -------------------------------------
    mark = dana.mark(outside)
    await command(alice, home, f"!relay remove {outside}")
    await dana.wait_for(
        outside,
        group_notice(me, said_pattern("en", ACTIONS["removed"][1], group=f"`{group}`")),
        after=mark,
    )
    probe = await alice.send_text(home, "Après l'exclusion")
    after = await dana.send_text(outside, "Are you still there?")
    await alice.wait_for(es, copy_of(me, probe))
    await barrier(dana, outside)
    await barrier(alice, home)
    assert not got(dana, outside, probe, me)
    assert not got(alice, home, after, me)

    # ---- stewardship handed over: the new steward room hears of every change ----------------
    mark_es = alice.mark(es)
    assert "`madrid`" in await command(alice, home, f"!relay steward add {es}")
    await alice.wait_for(
        es,
        group_notice(me, said_pattern("es", ACTIONS["steward-add"][1], group=f"`{group}`")),
        after=mark_es,
    )
    await command(alice, home, f"!relay mode {frank_room} receive")
    await alice.wait_for(
        es,
        group_notice(
            me,
            said_pattern(
                "es",
                ACTIONS["mode"][0],
                room=f"`frankfurt` (`{frank_room}`)",
                mode=said("es", MODE_LABELS["receive"]),
            ),
        ),
        after=mark_es,
    )
    await command(alice, home, f"!relay steward remove {home}")
    assert says(
        "fr",
        "Only the stewards of the relay group {group} may do this, from one of its steward rooms ({command} shows them).",
        await command(alice, home, "!relay requests"),
        group=f"`{group}`",
    )
    kept = await command(alice, es, f"!relay steward remove {es}")
    assert says(
        "es",
        "{room} is the only steward room of {group}, and a group always keeps one: name another one first with {command}.",
        kept,
        group=f"`{group}`",
    ), kept

    # ---- the history: every change, with who and when ------------------------------------------
    history = await command(alice, es, "!relay audit")
    for action, params in [
        ("created", {"actor": f"`{alice.user_id}`"}),
        ("linked", {"actor": f"`{alice.user_id}`"}),
        ("request", {"actor": f"`{dana.user_id}`", "request": f"`{request}`"}),
        ("approved", {"actor": f"`{alice.user_id}`", "request": f"`{request}`"}),
        ("refused", {"actor": f"`{alice.user_id}`", "request": f"`{refused_id}`"}),
        ("code", {"actor": f"`{alice.user_id}`"}),
        ("linked-with-code", {"actor": f"`{frank.user_id}`", "issuer": f"`{alice.user_id}`"}),
        ("glossary-add", {"actor": f"`{bob.user_id}`", "term": "`Mujawara`"}),
        ("removed", {"actor": f"`{alice.user_id}`"}),
        ("steward-add", {"actor": f"`{alice.user_id}`"}),
        ("mode", {"actor": f"`{alice.user_id}`"}),
        ("steward-remove", {"actor": f"`{alice.user_id}`"}),
    ]:
        assert says("es", ACTIONS[action][0], history, group=f"`{group}`", **params), action
    assert code[1] not in history
    assert short_code[1] not in history


async def test_an_encrypted_room_reaches_unencrypted_rooms_only_with_a_stewards_consent(
    bot, new_member
) -> None:
    await bot.start()
    me = bot.user_id
    alice = await new_member("alice", encryption=True)
    group = "crypt"
    plain = await room_with_bot(alice, me, name="plain")
    assert is_linked_answer(await command(alice, plain, f"!relay link {group} fr"), "fr", group)
    secret = await room_with_bot(alice, me, name="secret", encrypted=True)

    # refused with the reason, and nothing changed
    refused = await command(alice, secret, f"!relay link {group} es")
    assert says(
        "en",
        "{room} is encrypted and the relay group {group} has unencrypted rooms ({rooms}): its messages would be stored there unencrypted. A steward may allow it by adding {flag}; otherwise link it as receive only.",
        refused,
        room="`secret`",
        group=f"`{group}`",
        rooms="`plain`",
        flag="`--allow-unencrypted`",
    ), refused
    assert bot.app.core.rooms.language(secret) == "en"  # not the "es" it asked for
    # a steward's explicit consent: linked, and the encrypted room is told plainly
    mark = alice.mark(secret)
    linked = await command(alice, secret, f"!relay link {group} es --allow-unencrypted")
    assert is_linked_answer(linked, "es", group), linked
    told = await alice.wait_for(
        secret,
        group_notice(
            me,
            said_pattern(
                "es", ACTIONS["allow-unencrypted"][1], group=f"`{group}`", rooms="`plain`"
            ),
        ),
        after=mark,
    )
    assert told.get("decrypted") is True
    words = await alice.send_text(secret, "Hola desde la sala cifrada")
    await alice.wait_for(plain, copy_of(me, words))

    # a room that turns encryption on later stops reaching the unencrypted rooms at once
    later = await room_with_bot(alice, me, name="later")
    assert is_linked_answer(await command(alice, later, f"!relay link {group} en"), "en", group)
    mark_later, mark_plain = alice.mark(later), alice.mark(plain)
    await alice.enable_encryption(later)
    await alice.wait_for(
        later,
        group_notice(
            me, said_pattern("en", ACTIONS["encrypted"][1], group=f"`{group}`", rooms="`plain`")
        ),
        after=mark_later,
    )
    await alice.wait_for(
        plain,
        group_notice(
            me, said_pattern("fr", ACTIONS["encrypted"][0], group=f"`{group}`", rooms="`plain`")
        ),
        after=mark_plain,
    )
    hidden = await alice.send_text(later, "Now we are encrypted")
    hidden_copy = await alice.wait_for(secret, copy_of(me, hidden))
    # nor does a thread bring it there: an answer in the room allowed to reach the unencrypted
    # ones goes out, the encrypted root it answers stays out of them
    answer = await in_thread(alice, secret, hidden_copy["event_id"], "Contestamos en el hilo")
    await alice.wait_for(later, copy_of(me, answer))
    await alice.wait_for(plain, copy_of(me, answer))
    await barrier(alice, plain)
    assert not got(alice, plain, hidden, me)
    # until a steward allows it
    await command(alice, plain, f"!relay mode {later} two-way --allow-unencrypted")
    allowed = await alice.send_text(later, "Allowed now")
    await alice.wait_for(plain, copy_of(me, allowed))
