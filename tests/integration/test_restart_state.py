"""A restart rebuilds the rooms from the state kept with the sync token, then takes in what
changed while the bot was down: powers given and taken, a room it was removed from, and
encryption, all as the homeserver has them now."""

from __future__ import annotations

import logging

import pytest

from bot.core.storage import roomstate
from tests.integration.test_relay_support import command
from tests.support.botharness import BotHarness
from tests.support.predicates import from_bot, joined, reply_to, room_with_bot

pytestmark = pytest.mark.integration


async def test_powers_changed_while_down_hold_at_once_after_a_restart(
    bot: BotHarness, new_member, caplog: pytest.LogCaptureFixture
) -> None:
    app = await bot.start()
    alice = await new_member("alice", encryption=True)  # creates the rooms: their admin
    mallory = await new_member("mallory", encryption=True)
    bob = await new_member("bob", encryption=True)
    room = await room_with_bot(alice, bot.user_id, name="assemblée", encrypted=True)
    other = await room_with_bot(alice, bot.user_id, name="ailleurs")
    for person in (mallory, bob):
        await alice.invite(room, person.user_id)
        await person.join(room)
        await alice.wait_for(room, joined(person.user_id))
    await alice.set_power_level(room, mallory.user_id, 50)
    assert "Only" not in await command(mallory, room, "!room tz Europe/Paris")
    assert app.core.rooms.timezone(room).key == "Europe/Paris"
    assert "Only" in await command(bob, room, "!room tz Asia/Tokyo")

    await bot.stop()
    # while the bot is down: mallory loses her power, bob gains it, the bot is removed elsewhere
    await alice.set_power_level(room, mallory.user_id, 0)
    await alice.set_power_level(room, bob.user_id, 50)
    await alice.client.room_kick(other, bot.user_id, reason="plus besoin")

    with caplog.at_level(logging.INFO, logger="bot.core.matrix.client"):
        app = await bot.start()
    assert any("from the stored state" in r.getMessage() for r in caplog.records)

    refused = await command(mallory, room, "!room tz Africa/Tunis")
    assert "Only" in refused, refused
    assert app.core.rooms.timezone(room).key == "Europe/Paris"
    allowed = await command(bob, room, "!room tz Asia/Tokyo")
    assert "Only" not in allowed, allowed
    assert app.core.rooms.timezone(room).key == "Asia/Tokyo"

    # the answers in the encrypted room were encrypted, and alice could read them
    sent = await alice.send_text(room, "!help")
    answer = await alice.wait_for(room, reply_to(sent), timeout=20)
    assert answer.get("decrypted") is True
    assert from_bot(bot.user_id)(answer)
    stored = roomstate.load(app.db)
    assert stored is not None
    assert room in stored
    assert other not in stored  # removed while down: its state is gone with it
