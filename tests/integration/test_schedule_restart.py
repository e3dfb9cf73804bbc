"""Scheduled posts across stops: grace period for missed firings, exactly once after a crash."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.core.storage.database import Database, utcnow
from bot.schedules import store
from tests.integration.test_schedule import announcement, ask, soon
from tests.support.botharness import BotHarness
from tests.support.predicates import from_bot, room_with_bot

pytestmark = pytest.mark.integration


def shift_due(bot: BotHarness, schedule_id: int, ago: timedelta) -> None:
    """While the bot is stopped: pretend the firing fell due ``ago``."""
    db = Database(bot.config.storage.database)
    try:
        store.set_next_due(db, schedule_id, utcnow() - ago)
    finally:
        db.close()


async def test_missed_firing_inside_grace_is_sent_once_outside_is_skipped(
    bot: BotHarness, new_member
) -> None:
    await bot.start()
    alice = await new_member("alice")
    room = await room_with_bot(alice, bot.user_id, name="restart")
    await ask(alice, room, "!schedule add tomorrow 9:00 Inside the grace period")
    await ask(alice, room, "!schedule add every day 9:00 Outside the grace period")
    await bot.stop()
    shift_due(bot, 1, timedelta(minutes=10))
    shift_due(bot, 2, timedelta(hours=3))
    await bot.start()
    await alice.wait_for(room, announcement(bot.user_id, "Inside the grace"), timeout=20)
    probe = await ask(alice, room, "!schedule show 2")
    assert "missed" in probe
    assert "skipped" in probe
    assert "Status: active" in probe  # the repetition goes on from the next day
    await bot.restart()
    await ask(alice, room, "!schedule list")
    inside = [e for e in alice.events(room) if announcement(bot.user_id, "Inside")(e)]
    outside = [e for e in alice.events(room) if announcement(bot.user_id, "Outside")(e)]
    assert len(inside) == 1
    assert outside == []
    assert "done" in await ask(alice, room, "!schedule show 1")
    # two restarts later the room has still been greeted once
    greetings = [e for e in alice.events(room) if from_bot(bot.user_id, kind="greeting")(e)]
    assert len(greetings) == 1


@pytest.mark.parametrize("sent_before_crash", [True, False])
async def test_crash_after_recording_intent_posts_exactly_once(
    bot: BotHarness, new_member, sent_before_crash: bool
) -> None:
    app = await bot.start()
    alice = await new_member("alice")
    room = await room_with_bot(alice, bot.user_id, name="crash")
    matrix = app.matrix
    real_send = matrix.send
    reached = asyncio.Event()
    never = asyncio.Event()

    async def send_then_hang(room_id: str, content: dict[str, Any], **kwargs: Any) -> str:
        # the process "dies" here: after the intent row, before the outcome is recorded
        if content.get("org.mujawara.liaison", {}).get("kind") != "announcement":
            return await real_send(room_id, content, **kwargs)
        if sent_before_crash:
            await real_send(room_id, content, **kwargs)
        reached.set()
        await never.wait()
        raise AssertionError("unreachable")

    matrix.send = send_then_hang  # type: ignore[method-assign]
    await ask(alice, room, f"!schedule add {soon(3)} Only once please")
    await asyncio.wait_for(reached.wait(), timeout=20)
    firing = store.pending_intents(app.db, 1)
    assert len(firing) == 1
    assert firing[0].status == store.SENDING
    if sent_before_crash:
        await alice.wait_for(room, announcement(bot.user_id, "Only once"))
    await bot.stop()

    await bot.start()  # the loader finishes the firing with the same transaction id
    await alice.wait_for(room, announcement(bot.user_id, "Only once"), timeout=20)
    await ask(alice, room, "!schedule show 1")  # anything sent twice would be seen by now
    copies = [e for e in alice.events(room) if announcement(bot.user_id, "Only once")(e)]
    assert len(copies) == 1
    assert bot.app is not None
    assert store.pending_intents(bot.app.db, 1) == []
    assert store.recent_firings(bot.app.db, 1)[0].status == store.SENT
