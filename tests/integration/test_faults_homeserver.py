"""The homeserver goes away or pushes back: nothing lost, nothing duplicated."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.dev.devserver.synapse import LocalSynapse
from tests.support.botharness import BotHarness
from tests.support.members import Member
from tests.support.predicates import reply_to, room_with_bot

pytestmark = pytest.mark.integration


def answers(member: Member, room: str, event_id: str) -> int:
    return sum(1 for e in member.events(room) if reply_to(event_id)(e))


async def test_homeserver_outage_is_survived(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hs = LocalSynapse(tmp_path / "hs")
    await hs.start()
    harness = BotHarness(hs, tmp_path / "bot")
    alice = None
    try:
        app = await harness.start()
        alice = await Member.create(hs, "alice", store_dir=tmp_path / "alice")
        room = await room_with_bot(alice, harness.user_id)
        before = [await alice.send_text(room, f"!room info {n}") for n in range(5)]
        caplog.set_level(logging.WARNING, logger="bot.app")
        await hs.stop()
        # the outage lasts until the bot has retried with backoff several times
        async with app.runtime.sync.state:
            await app.runtime.sync.state.wait_for(lambda: app.runtime.sync.failures >= 3)
        await hs.start()
        after = [await alice.send_text(room, f"!room info later {n}") for n in range(3)]
        for event_id in before + after:
            await alice.wait_for(room, reply_to(event_id), timeout=60)
        for event_id in before + after:
            assert answers(alice, room, event_id) == 1
        outage_logs = [r for r in caplog.records if "sync failed" in r.getMessage()]
        assert len(outage_logs) == 1
        assert app.runtime.sync.outages == 1
    finally:
        if alice is not None:
            await alice.close()
        await harness.stop()
        await hs.stop()


async def test_rate_limited_bot_delivers_every_reply_in_order_once(tmp_path: Path) -> None:
    hs = LocalSynapse(
        tmp_path / "hs", rate_limits={"rc_message": {"per_second": 2, "burst_count": 3}}
    )
    await hs.start()
    harness = BotHarness(hs, tmp_path / "bot")
    alice = None
    try:
        app = await harness.start()
        alice = await Member.create(hs, "alice", store_dir=tmp_path / "alice")
        await hs.exempt_from_rate_limits(alice.user_id)
        room = await room_with_bot(alice, harness.user_id)
        commands = [await alice.send_text(room, f"!room info {n}") for n in range(15)]
        for event_id in commands:
            await alice.wait_for(room, reply_to(event_id), timeout=60)
        replies = [
            e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
            for e in alice.events(room)
            if any(reply_to(c)(e) for c in commands)
        ]
        assert replies == commands  # each once, in the order asked
        assert app.matrix.stats.rate_limited > 0
    finally:
        if alice is not None:
            await alice.close()
        await harness.stop()
        await hs.stop()
