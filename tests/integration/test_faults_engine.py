"""The translation engine stops, hangs and talks garbage: the relay goes on, untranslated and
marked, within the configured timeout; when the engine is back, translation resumes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.dev.devserver.apertium import LocalApertium
from bot.dev.devserver.synapse import LocalSynapse
from tests.integration.test_relay_support import copy_of
from tests.support.botharness import BotHarness
from tests.support.flakyengine import FlakyApertium
from tests.support.history import duplicates, relayed_sources, room_history
from tests.support.i18n import said as said_in
from tests.support.members import Member
from tests.support.relaygroup import link_group

pytestmark = pytest.mark.integration

TIMEOUT = 2.0  # translation.timeout_seconds
# two sync hops and the send, on a busy 2-core machine
SLACK = 1.5
MARKER = said_in("es", "[untranslated]")  # the copies land in the Spanish room


@pytest.fixture
async def engine(apertium: LocalApertium) -> AsyncIterator[FlakyApertium]:
    flaky = FlakyApertium(apertium.url)
    await flaky.start()
    yield flaky
    await flaky.close()


async def relay_one(
    member: Member, bot: BotHarness, rooms: dict[str, str], text: str
) -> tuple[str, dict[str, Any], float]:
    """Say ``text`` in the French room; the Spanish copy and how long it took to arrive."""
    began = time.monotonic()
    sent = await member.send_text(rooms["fr"], text)
    copy = await member.wait_for(rooms["es"], copy_of(bot.user_id, sent), timeout=20)
    return sent, copy, time.monotonic() - began


async def test_engine_stopped_hanging_or_garbled_relays_marked_originals_then_recovers(
    synapse: LocalSynapse, engine: FlakyApertium, tmp_path: Path, new_member
) -> None:
    bot = BotHarness(
        synapse,
        tmp_path / "bot",
        translation={
            "engines": ["apertium"],
            "apertium": {"url": engine.url},
            "timeout_seconds": TIMEOUT,
        },
    )
    try:
        app = await bot.start()
        alice = await new_member("alice")
        rooms = await link_group(alice, bot.user_id, ("fr", "es"), "engine")
        said: list[str] = []

        sent, copy, _ = await relay_one(alice, bot, rooms, "Le marché est fermé aujourd'hui.")
        said.append(sent)
        assert "El mercado está cerrado hoy" in copy["content"]["body"]
        assert MARKER not in copy["content"]["body"]

        faults: list[tuple[str, str]] = [
            ("stopped", "Nous avons besoin de pain et de lait pour la cantine."),
            ("hang", "Le bus pour la manifestation part à huit heures."),
            ("garbage", "La bibliothèque du quartier est ouverte demain."),
            ("wrong-json", "Les enfants jouent dans le parc près de l'école."),
        ]
        for fault, text in faults:
            if fault == "stopped":
                await engine.stop()
            else:
                await engine.start()
                engine.mode = fault  # type: ignore[assignment]
            asked = engine.requests
            sent, copy, elapsed = await relay_one(alice, bot, rooms, text)
            said.append(sent)
            body = copy["content"]["body"]
            assert MARKER in body, (fault, body)
            assert text in body, (fault, body)  # the original words, as written
            assert elapsed < TIMEOUT + SLACK, (fault, elapsed)
            if fault == "hang":
                assert elapsed >= TIMEOUT * 0.9, elapsed  # it was the timeout that ended it
            if fault != "stopped":
                assert engine.requests > asked, fault  # the engine was really asked

        engine.mode = "good"
        sent, copy, _ = await relay_one(alice, bot, rooms, "La réunion commence à midi.")
        said.append(sent)
        assert "La reunión comienza a mediodía" in copy["content"]["body"]
        assert MARKER not in copy["content"]["body"]

        copies = relayed_sources(await room_history(alice, rooms["es"]), bot.user_id)
        assert duplicates(copies) == {}
        assert copies == said
        translation = app.core.translation
        assert translation is not None
        assert translation.stats["apertium"].failures >= len(faults)
    finally:
        await bot.stop()
