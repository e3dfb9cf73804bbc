"""One member flooding commands hears "slow down" once and is skipped; the others are answered.

The pace itself (a calm member's latency during a flood, against the room's quiet latency) is a
benchmark: ``tests/benchmarks/test_fairness.py``.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.support.botharness import BotHarness
from tests.support.i18n import said, said_pattern
from tests.support.predicates import joined, reply_to, room_with_bot

pytestmark = pytest.mark.integration

BURST = 3
SLOW_DOWN = (
    "You are sending commands faster than I answer them. For a while I will skip, without "
    "answering, those beyond one every {seconds} seconds."
)


async def test_a_flooder_is_told_once_then_skipped_while_another_member_is_answered(
    synapse, new_member, tmp_path
) -> None:
    # a long interval: after its burst the flooder earns no new command during the test
    bot = BotHarness(
        synapse,
        tmp_path / "bot",
        bot={"command_burst": BURST, "command_interval_seconds": 600},
    )
    await bot.start()
    try:
        flooder, calm = await asyncio.gather(new_member("flooder"), new_member("calm"))
        room = await room_with_bot(calm, bot.user_id, name="busy")
        await calm.invite(room, flooder.user_id)
        await flooder.join(room)
        await calm.wait_for(room, joined(flooder.user_id))

        flood = [await flooder.send_text(room, "!room info") for _ in range(BURST + 5)]
        await calm.wait_for(room, reply_to(flood[BURST]), timeout=60)
        # commands of a room are handled in order: once the calm member's is answered, every
        # flood command before it has been handled or skipped
        mine = await calm.send_text(room, "!room info")
        await calm.wait_for(room, reply_to(mine), timeout=60)

        answers = {
            e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]: str(e["content"]["body"])
            for e in calm.events(room)
            if e.get("sender") == bot.user_id
            and "m.in_reply_to" in e.get("content", {}).get("m.relates_to", {})
        }
        info = said_pattern("en", "This room's language: {language} ({code}). Time zone: {zone}.")
        assert all(info.search(answers[event_id]) for event_id in flood[:BURST])
        assert answers[flood[BURST]] == said("en", SLOW_DOWN, seconds="600")
        assert [event_id for event_id in flood[BURST + 1 :] if event_id in answers] == []
        assert info.search(answers[mine])
    finally:
        await bot.stop()
