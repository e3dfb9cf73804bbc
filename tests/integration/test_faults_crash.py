"""kill -9 of the bot process in the middle of a relay burst: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from bot.dev.devserver.synapse import LocalSynapse
from tests.integration.test_relay_support import copy_of, relayed
from tests.support.botprocess import BotProcess
from tests.support.history import duplicates, relayed_sources, room_history
from tests.support.relaygroup import link_group

pytestmark = pytest.mark.integration

BURST = 300
KILL_AFTER = 40  # copies seen in a target room before the kill
READY = "ready: first sync done"
_bots = itertools.count(1)


async def test_kill_9_mid_burst_then_restart_relays_each_message_once_in_order(
    synapse: LocalSynapse, tmp_path: Path, new_member
) -> None:
    # no engine: the burst is about delivery, and 600 translations would only slow it down
    bot = BotProcess(synapse, tmp_path / "bot", f"liaisoncrash{next(_bots)}")
    try:
        await bot.start()
        alice = await new_member("alice")
        rooms = await link_group(alice, bot.user_id, ("fr", "es", "en"), "burst")
        source, targets = rooms["fr"], (rooms["es"], rooms["en"])
        sent: list[str] = []

        async def burst() -> None:
            for n in range(BURST):
                sent.append(await alice.send_text(source, f"burst message {n:03d}"))

        sending = asyncio.create_task(burst())
        await alice.wait_for(
            targets[0], relayed(bot.user_id, f"message {KILL_AFTER:03d}"), timeout=60
        )
        await bot.kill()
        seen_at_kill = [len(relayed_sources(alice.events(room), bot.user_id)) for room in targets]
        assert all(n < BURST for n in seen_at_kill), seen_at_kill  # killed mid-burst
        await sending  # the rest of the burst is said while the bot is dead

        await bot.start()
        await bot.wait_for_log(READY, occurrences=1)
        # a probe after the burst: each room's copies go out in order, so once the probe's
        # copy is there, any copy sent twice would be there too
        probe = await alice.send_text(source, "probe after the burst")
        for room in targets:
            await alice.wait_for(room, copy_of(bot.user_id, probe), timeout=80)

        for room in targets:
            copies = relayed_sources(await room_history(alice, room), bot.user_id)
            assert duplicates(copies) == {}
            missing = [n for n, event_id in enumerate(sent) if event_id not in copies]
            assert missing == [], f"burst messages never relayed: {missing}"
            assert copies == [*sent, probe]
        source_history = await room_history(alice, source)
        assert not any(e.get("sender") == bot.user_id for e in source_history[-BURST:])
        assert any("replaying unhandled event" in line for line in bot.lines)
    finally:
        await bot.kill()
