"""Gathering reminders: fire once, survive a restart, are not repeated after a crash."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.storage.database import from_iso
from bot.gatherings.service import Gatherings
from tests.support.botharness import BotHarness
from tests.support.i18n import said, said_pattern
from tests.support.members import Member
from tests.support.predicates import from_bot, reply_to, room_with_bot

pytestmark = pytest.mark.integration


async def ask(member: Member, room: str, text: str) -> str:
    sent = await member.send_text(room, text)
    return str((await member.wait_for(room, reply_to(sent), timeout=20))["content"]["body"])


async def create(member: Member, room: str, text: str, lang: str = "en") -> str:
    """Create a gathering in a room speaking ``lang``; its id, read from the bot's answer."""
    body = await ask(member, room, text)
    match = said_pattern(lang, "Gathering {id} created.", id=re.compile(r"`(?P<id>\w+)`")).search(
        body
    )
    assert match, body
    return match.group("id")


def reminders_seen(member: Member, room: str, bot: BotHarness) -> list[dict[str, Any]]:
    match = from_bot(bot.user_id, kind="gathering-reminder")
    return [e for e in member.events(room) if match(e)]


async def until(moment: datetime) -> None:
    """Let wall-clock time pass (the bot is down: there is no event to wait on)."""
    delay = (moment - datetime.now(UTC)).total_seconds()
    if delay > 0:
        await asyncio.sleep(delay)


def due_at(bot: BotHarness, gathering: str) -> datetime:
    assert bot.app is not None
    row = bot.app.db.query_one(
        "SELECT due_at FROM gathering_reminders WHERE gathering_id = ?", (gathering,)
    )
    assert row is not None
    return from_iso(row["due_at"])


async def crash(bot: BotHarness) -> None:
    """Stop the bot the hard way: cancel its runner, no request_stop."""
    assert bot._runner is not None
    bot._runner.cancel()
    await asyncio.gather(bot._runner, return_exceptions=True)
    bot.app = None
    bot._runner = None


async def test_reminder_fires_once_in_the_room_language(bot, new_member) -> None:
    await bot.start()
    alice = await new_member("alice")
    room = await room_with_bot(alice, bot.user_id, name="remind")
    await ask(alice, room, "!room lang fr")
    gathering = await create(
        alice, room, "!evenement add Réunion | dans 40s | ici | rappels: 30s, 2h", "fr"
    )
    reminder = await alice.wait_for(
        room, from_bot(bot.user_id, kind="gathering-reminder"), timeout=30
    )
    assert (
        said("fr", "Reminder: {title} starts in {lead}.", title="**Réunion**", lead="30 s")
        in reminder["content"]["body"]
    ), reminder["content"]["body"]
    # the 2 h reminder was too close to be useful: never created
    states = bot.app.db.query(
        "SELECT lead_seconds, state FROM gathering_reminders WHERE gathering_id = ?", (gathering,)
    )
    assert states == [{"lead_seconds": 30, "state": "sent"}]
    await bot.restart()
    await ask(alice, room, f"!event show {gathering}")
    assert len(reminders_seen(alice, room, bot)) == 1


async def test_reminder_missed_while_down_is_sent_once_after_restart(bot, new_member) -> None:
    await bot.start()
    alice = await new_member("alice")
    room = await room_with_bot(alice, bot.user_id, name="down")
    gathering = await create(alice, room, "!event add Assembly | in 45s | here | reminders: 35s")
    due = due_at(bot, gathering)
    await bot.stop()
    await until(due)
    await bot.start()
    await alice.wait_for(room, from_bot(bot.user_id, kind="gathering-reminder"), timeout=20)
    await bot.restart()
    await ask(alice, room, f"!event show {gathering}")
    assert len(reminders_seen(alice, room, bot)) == 1


@pytest.mark.parametrize("sent_before_crash", [True, False])
async def test_a_crash_right_after_recording_the_firing_sends_exactly_one(
    synapse, tmp_path, new_member, sent_before_crash: bool
) -> None:
    bot = BotHarness(synapse, tmp_path / "bot")
    try:
        await bot.start()
        alice = await new_member("alice")
        room = await room_with_bot(alice, bot.user_id, name="crash")
        gathering = await create(
            alice, room, "!event add Assembly | in 40s | here | reminders: 30s"
        )
        assert bot.app is not None
        service = bot.app.feature("gatherings").service
        assert isinstance(service, Gatherings)
        real_send = service._send_reminder
        recorded = asyncio.Event()
        stuck: list[asyncio.Task[Any]] = []

        async def send_then_die(item: Any, g: Any) -> None:
            # the firing is recorded ('firing' with its txn key); the process dies here
            if sent_before_crash:
                await real_send(item, g)
            task = asyncio.current_task()
            assert task is not None
            stuck.append(task)
            recorded.set()
            await asyncio.Event().wait()

        service._send_reminder = send_then_die  # type: ignore[method-assign,assignment]
        await asyncio.wait_for(recorded.wait(), timeout=30)
        row = bot.app.db.query_one(
            "SELECT state, txn_key FROM gathering_reminders WHERE gathering_id = ?", (gathering,)
        )
        assert row is not None
        assert row["state"] == "firing"
        assert row["txn_key"]
        await crash(bot)
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)

        await bot.start()
        await alice.wait_for(room, from_bot(bot.user_id, kind="gathering-reminder"), timeout=20)
        await bot.restart()
        await ask(alice, room, f"!event show {gathering}")
        assert len(reminders_seen(alice, room, bot)) == 1
        assert bot.app.db.query_one(
            "SELECT state FROM gathering_reminders WHERE gathering_id = ?", (gathering,)
        ) == {"state": "sent"}
    finally:
        await bot.stop()
