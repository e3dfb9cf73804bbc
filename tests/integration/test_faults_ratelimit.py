"""A homeserver that pushes back with HTTP 429: a relay burst still arrives whole, in order, once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.dev.devserver.synapse import LocalSynapse
from tests.integration.test_relay_support import copy_of
from tests.support.botharness import BotHarness
from tests.support.history import duplicates, relayed_sources, room_history
from tests.support.members import Member
from tests.support.relaygroup import link_group

pytestmark = pytest.mark.integration

BURST = 24


async def test_relay_burst_under_tight_rate_limits_arrives_whole_in_order_once(
    tmp_path: Path,
) -> None:
    hs = LocalSynapse(
        tmp_path / "hs", rate_limits={"rc_message": {"per_second": 3, "burst_count": 5}}
    )
    await hs.start()
    bot = BotHarness(hs, tmp_path / "bot")
    members: list[Member] = []
    try:
        app = await bot.start()
        alice = await Member.create(hs, "alice", store_dir=tmp_path / "alice")
        bob = await Member.create(hs, "bob", store_dir=tmp_path / "bob")
        members += [alice, bob]
        for member in members:
            await hs.exempt_from_rate_limits(member.user_id)  # only the bot is held back
        rooms = await link_group(alice, bot.user_id, ("fr", "es", "en"), "limited")
        await alice.invite(rooms["es"], bob.user_id)
        await bob.join(rooms["es"])

        async def burst(member: Member, room: str, label: str) -> list[str]:
            return [await member.send_text(room, f"{label} {n:02d}") for n in range(BURST)]

        # two members talk at once in two rooms: 4 x BURST copies against 3 sends a second
        from_fr, from_es = await asyncio.gather(
            burst(alice, rooms["fr"], "depuis fr"), burst(bob, rooms["es"], "desde es")
        )
        last = {rooms["fr"]: from_fr[-1], rooms["es"]: from_es[-1]}
        for source, event_id in last.items():
            for room in rooms.values():
                if room != source:
                    await alice.wait_for(room, copy_of(bot.user_id, event_id), timeout=75)

        assert app.matrix.stats.rate_limited > 0  # the homeserver did push back
        fr_set, es_set = set(from_fr), set(from_es)
        for lang, room in rooms.items():
            copies = relayed_sources(await room_history(alice, room), bot.user_id)
            assert duplicates(copies) == {}, lang
            # each source room's messages arrive complete and in the order they were said
            if lang != "fr":
                assert [c for c in copies if c in fr_set] == from_fr, lang
            if lang != "es":
                assert [c for c in copies if c in es_set] == from_es, lang
            expected = (0 if lang == "fr" else BURST) + (0 if lang == "es" else BURST)
            assert len(copies) == expected, lang
    finally:
        for member in members:
            await member.close()
        await bot.stop()
        await hs.stop()
