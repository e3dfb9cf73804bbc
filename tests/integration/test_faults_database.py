"""The database stops taking writes while the bot runs: clear answers, the relay goes on,
everything recovers when it is writable again, nothing corrupt and nothing sent twice.

``PRAGMA query_only`` on the bot's own connection makes every write fail with SQLite's
"attempt to write a readonly database", the error a read-only file or a full disk gives,
while the bot keeps running in the test's event loop where its state can be inspected.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from bot.dev.devserver.apertium import LocalApertium
from bot.dev.devserver.synapse import LocalSynapse
from tests.integration.test_relay_support import copy_of
from tests.support.botharness import BotHarness
from tests.support.history import duplicates, relayed_sources, room_history
from tests.support.members import Member
from tests.support.relaygroup import ask, link_group

pytestmark = pytest.mark.integration

CANNOT_SAVE = "I cannot save anything right now"


async def relay_all(
    member: Member, bot: BotHarness, rooms: dict[str, str], texts: list[str]
) -> list[str]:
    """Say each text in the French room and wait for its copies in the other rooms."""
    sent = [await member.send_text(rooms["fr"], text) for text in texts]
    for room in (rooms["es"], rooms["en"]):
        for event_id in sent:
            await member.wait_for(room, copy_of(bot.user_id, event_id), timeout=20)
    return sent


async def test_unwritable_database_refuses_writes_keeps_relaying_and_recovers(
    synapse: LocalSynapse, apertium: LocalApertium, tmp_path: Path, new_member
) -> None:
    # translating, as in production: the cache and the route counters are writes too
    bot = BotHarness(
        synapse,
        tmp_path / "bot",
        translation={"engines": ["apertium"], "apertium": {"url": apertium.url}},
    )
    try:
        app = await bot.start()
        alice = await new_member("alice")
        rooms = await link_group(alice, bot.user_id, ("fr", "es", "en"), "diskfull")
        en = rooms["en"]  # commands go here: the answers are in English
        said = await relay_all(alice, bot, rooms, ["avant la panne"])
        schedules_before = app.db.query("SELECT * FROM schedules")

        app.db.execute("PRAGMA query_only = ON")
        answer = await ask(alice, en, "!schedule add tomorrow 9:00 Assemblée générale")
        assert CANNOT_SAVE in answer
        answer = await ask(alice, en, "!relay glossary add Mujawara")
        assert CANNOT_SAVE in answer
        said += await relay_all(alice, bot, rooms, [f"pendant la panne {n}" for n in range(5)])
        assert app.runtime.intake is not None
        assert app.runtime.intake.degraded
        # a command that only reads still gets its ordinary answer
        assert "diskfull" in await ask(alice, en, "!relay list")

        app.db.execute("PRAGMA query_only = OFF")
        said += await relay_all(alice, bot, rooms, ["après la panne"])
        assert not app.runtime.intake.degraded
        # nothing half-saved
        assert app.db.query("SELECT * FROM schedules") == schedules_before
        assert app.db.query("SELECT * FROM relay_glossary") == []
        answer = await ask(alice, en, "!schedule add tomorrow 9:00 Assemblée générale")
        assert CANNOT_SAVE not in answer
        assert len(app.db.query("SELECT * FROM schedules")) == len(schedules_before) + 1
        assert app.db.integrity_ok()

        # after a restart nothing from the outage is handled again
        await bot.restart()
        said += await relay_all(alice, bot, rooms, ["après le redémarrage"])
        for room in (rooms["es"], rooms["en"]):
            copies = relayed_sources(await room_history(alice, room), bot.user_id)
            assert duplicates(copies) == {}
            assert copies == said
        assert bot.app is not None
        assert bot.app.db.integrity_ok()
    finally:
        await bot.stop()


HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("UPDATE sync_state SET value = value")
print("locked", flush=True)
sys.stdin.readline()  # held until the test says "release"
conn.execute("COMMIT")
print("released", flush=True)
"""
LOCK_SECONDS = 30


async def test_copies_go_out_while_another_process_holds_the_database_lock(
    synapse: LocalSynapse, tmp_path: Path, new_member
) -> None:
    bot = BotHarness(synapse, tmp_path / "bot")
    try:
        app = await bot.start()
        alice = await new_member("alice")
        rooms = await link_group(alice, bot.user_id, ("fr", "es"), "verrou")
        fr, es = rooms["fr"], rooms["es"]
        before = await alice.send_text(fr, "avant le verrou")
        await alice.wait_for(es, copy_of(bot.user_id, before), timeout=20)

        locker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", HOLD_LOCK, str(bot.config.storage.database),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert locker.stdout is not None
        assert locker.stdin is not None
        assert (await locker.stdout.readline()).strip() == b"locked"
        locked_at = time.monotonic()
        during = []
        for n in range(3):
            sent = await alice.send_text(fr, f"pendant le verrou {n}")
            await alice.wait_for(es, copy_of(bot.user_id, sent), timeout=LOCK_SECONDS)
            during.append(sent)
        # every copy arrived while the other process still held the lock
        assert locker.returncode is None
        assert time.monotonic() - locked_at < LOCK_SECONDS
        relay = app.feature("relay").service
        assert relay.unwritten() > 0  # the relay map waits in memory
        healthy, report = app.health.check()
        assert not healthy
        assert "locked" in report["reason"]

        locker.stdin.write(b"release\n")
        await locker.stdin.drain()
        assert (await locker.stdout.readline()).strip() == b"released"
        await locker.wait()
        # the database takes writes again: the map is written, and edits find their copies
        after = await alice.send_text(fr, "après le verrou")
        await alice.wait_for(es, copy_of(bot.user_id, after), timeout=20)
        stored = {
            r["source_event_id"] for r in app.db.query("SELECT source_event_id FROM relay_copies")
        }
        assert set(during) <= stored
        assert relay.unwritten() == 0
        edit = await alice.edit(fr, during[0], "pendant le verrou, corrigé")
        await alice.wait_for(es, copy_of(bot.user_id, edit), timeout=20)
        assert app.health.check()[0]
    finally:
        await bot.stop()
