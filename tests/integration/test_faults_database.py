"""The database stops taking writes while the bot runs: clear answers, the relay goes on,
everything recovers when it is writable again, nothing corrupt and nothing sent twice.

``PRAGMA query_only`` on the bot's own connection makes every write fail with SQLite's
"attempt to write a readonly database", the error a read-only file or a full disk gives,
while the bot keeps running in the test's event loop where its state can be inspected.
"""

from __future__ import annotations

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
