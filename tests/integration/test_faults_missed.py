"""An announcement and a reminder fall due while the bot process is dead (kill -9): each is
posted exactly once after the restart, and once only across a second crash."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.storage.database import from_iso
from bot.dev.devserver.synapse import LocalSynapse
from tests.integration.test_schedule import announcement, soon
from tests.support.botprocess import BotProcess
from tests.support.history import room_history
from tests.support.predicates import from_bot, room_with_bot
from tests.support.relaygroup import ask

pytestmark = pytest.mark.integration

READY = "ready: first sync done"
_bots = itertools.count(1)


def due_moments(bot: BotProcess) -> list[datetime]:
    """When the schedule and the reminder fall due, read from the dead bot's database."""
    connection = sqlite3.connect(f"file:{bot.data_dir / 'liaison.db'}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT next_due FROM schedules UNION ALL SELECT due_at FROM gathering_reminders"
        ).fetchall()
    finally:
        connection.close()
    return [from_iso(row[0]) for row in rows]


async def until(moment: datetime) -> None:
    """Let wall-clock time pass: the bot is dead, there is no event to wait on."""
    delay = (moment - datetime.now(UTC)).total_seconds()
    if delay > 0:
        await asyncio.sleep(delay)


async def test_posts_due_while_killed_go_out_once_after_restart(
    synapse: LocalSynapse, tmp_path: Path, new_member
) -> None:
    bot = BotProcess(synapse, tmp_path / "bot", f"liaisonmissed{next(_bots)}")
    try:
        await bot.start()
        alice = await new_member("alice")
        room = await room_with_bot(alice, bot.user_id, name="missed")
        answer = await ask(alice, room, f"!schedule add {soon(10)} Distribution at the square")
        assert "Schedule #1 is set" in answer, answer
        answer = await ask(alice, room, "!event add Assembly | in 45s | here | reminders: 35s")
        assert "created" in answer, answer

        await bot.kill()
        moments = due_moments(bot)
        assert len(moments) == 2, moments
        assert min(moments) > datetime.now(UTC)  # both fall due while the bot is dead
        await until(max(moments))

        await bot.start()
        await bot.wait_for_log(READY)
        reminder = from_bot(bot.user_id, kind="gathering-reminder")
        posted = announcement(bot.user_id, "Distribution at the square")
        await alice.wait_for(room, posted, timeout=30)
        await alice.wait_for(room, reminder, timeout=30)

        # a second crash right after the posts must not bring them back
        await bot.kill()
        await bot.start()
        await bot.wait_for_log(READY)
        assert "done" in await ask(alice, room, "!schedule show 1")
        history = await room_history(alice, room)
        assert len([e for e in history if posted(e)]) == 1
        assert len([e for e in history if reminder(e)]) == 1
    finally:
        await bot.kill()
