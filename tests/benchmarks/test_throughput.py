"""Benchmark 7: translation throughput, a burst of unique messages against the engine alone.

Five relay groups of three rooms (fr, es, en); four members send 500 messages never seen
before (1 to 3 sentences each, in the room's language), one after another each, spread over
the fifteen rooms. Every message has two copies, one of them through a Spanish pivot
(fr->en, en->fr). Liaison's rate counts copies from the first send to the last copy seen by
an observing member; every copy must arrive exactly once, in its room's order.

Reference: the same translations asked of Apertium's HTTP server directly, as many at once
as Liaison allows itself (its translation gate), the pivot's first hop shared by both
targets as Liaison shares it: the copies per second the engine alone sustains on this
machine. Beside it, the homeserver's ceiling: the sync-driven ideal relay (``peer.py``,
ordered queue per room, translations given beforehand) relaying the same burst in rooms of
its own. The CPU time the bot, Synapse and the machine spent during Liaison's burst says
what limits the rate.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import aiohttp

from bot.dev.devserver.apertium import LocalApertium
from bot.dev.devserver.synapse import LocalSynapse
from tests.benchmarks.conftest import BotProcesses, ClientFactory
from tests.benchmarks.measure import Results, cpu_seconds, machine_cpu, size, strict
from tests.benchmarks.peer import translate_direct
from tests.benchmarks.relays import translations
from tests.benchmarks.scenario import (
    Peer,
    joined_by,
    link,
    relay_bot,
    rooms_for,
    rooms_with_bot,
    unique_texts,
)
from tests.benchmarks.test_burst import (
    GROUPS,
    LANGUAGES,
    SENDERS,
    Burst,
    all_copies,
    check_exactly_once_in_order,
)

TARGET = 0.9
# TranslationService's gate as build_translation_service sets it (max(48, max_concurrency))
CONCURRENCY = 48


async def engine_alone(apertium: str, plan: list[tuple[str, str]]) -> float:
    """Copies per second APY sustains for ``plan`` ((language, text) per message)."""
    gate = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http:

        async def call(text: str, source: str, target: str) -> str:
            async with gate:
                return await translate_direct(http, apertium, text, source, target)

        async def message(lang: str, text: str) -> None:
            if lang == "es":
                await asyncio.gather(call(text, "es", "fr"), call(text, "es", "en"))
                return
            middle = await call(text, lang, "es")  # the es copy, and the pivot's first hop
            await call(middle, "es", "en" if lang == "fr" else "fr")

        began = time.perf_counter()
        await asyncio.gather(*(message(lang, text) for lang, text in plan))
        return 2 * len(plan) / (time.perf_counter() - began)


async def test_translation_throughput(
    synapse: LocalSynapse,
    apertium: LocalApertium,
    tmp_path: Path,
    clients: ClientFactory,
    bot_processes: BotProcesses,
    results: Results,
) -> None:
    total = size("THROUGHPUT_MESSAGES", 500, 60)
    senders = [await clients(f"sender{i}") for i in range(SENDERS)]
    observer = await clients("observer")
    bot = bot_processes.track(relay_bot(synapse, tmp_path, apertium.url))
    await bot.start()
    rooms = await rooms_with_bot(
        senders[0], bot.user_id, GROUPS * 3, members=[*senders[1:], observer], name="tp"
    )
    for g in range(GROUPS):
        group = rooms[3 * g : 3 * g + 3]
        await link(senders[0], list(zip(group, LANGUAGES, strict=True)), f"tp{g}")
    burst = Burst(rooms, total, 1)
    per_language = {lang: iter(unique_texts(lang, total, seed=7)) for lang in LANGUAGES}
    burst.plan = [
        (sender, room, next(per_language[LANGUAGES[rooms.index(room) % 3]]))
        for sender, room, _ in burst.plan
    ]
    plan = [(LANGUAGES[rooms.index(room) % 3], text) for _, room, text in burst.plan]
    # the engine alone first, on the very texts: APY keeps no translation, Liaison has none
    reference = await engine_alone(apertium.url, plan)

    peer = Peer(synapse, tmp_path, "queued")
    await peer.register()
    theirs = await rooms_for(
        senders[0], peer.user_id, GROUPS * 3, members=[*senders[1:], observer], name="tpi"
    )
    ideal_burst = Burst(theirs, total, 1)
    ideal_burst.plan = [
        (sender, theirs[rooms.index(room)], text) for sender, room, text in burst.plan
    ]
    copies: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        mine = [text for source, text in plan if source == lang]
        others = [other for other in LANGUAGES if other != lang]
        copies.update(await translations(apertium.url, mine, others, lang))
    routes = {
        room: {other: LANGUAGES[theirs.index(other) % 3] for other in ideal_burst.others(room)}
        for room in theirs
    }
    await peer.start(routes, {r: LANGUAGES[i % 3] for i, r in enumerate(theirs)}, copies=copies)
    await joined_by(senders[0], theirs, peer.user_id)
    start, sent = await ideal_burst.send(senders)
    ceiling = 2 * total / (await all_copies(observer, ideal_burst, sent, 600) - start)
    check_exactly_once_in_order(observer, ideal_burst, sent, peer.user_id)
    await peer.stop()

    bot_cpu, synapse_cpu, all_cpu = (
        cpu_seconds(bot.proc.pid if bot.proc else None),
        cpu_seconds(synapse.pid),
        machine_cpu(),
    )
    start, sent = await burst.send(senders)
    last = await all_copies(observer, burst, sent, max(120.0, total * 1.0))
    elapsed = last - start
    bot_cpu = cpu_seconds(bot.proc.pid if bot.proc else None) - bot_cpu
    synapse_cpu = cpu_seconds(synapse.pid) - synapse_cpu
    all_cpu = machine_cpu() - all_cpu
    rate = 2 * total / elapsed
    closing = [(room, (await senders[0].send(room, "Fin."))[0]) for room in rooms]
    await all_copies(observer, burst, closing, 120)
    check_exactly_once_in_order(observer, burst, sent, bot.user_id)
    assert await bot.terminate() == 0

    cores = os.cpu_count() or 1
    ratio = rate / reference
    figure = results.figure(
        f"7. Translation throughput ({total} unique messages, {GROUPS} groups of fr/es/en, "
        f"{2 * total} copies, half through a pivot)"
    )
    figure.add(f"APY alone, {CONCURRENCY} at once: {reference:.1f} copies/s")
    figure.add(
        f"homeserver ceiling, the sync-driven ideal relay with the copies given: {ceiling:.1f} "
        "copies/s"
    )
    figure.add(f"Liaison: {rate:.1f} copies/s; every copy exactly once, in order per room")
    figure.add(
        f"during the burst ({elapsed:.1f} s, {cores} cores): machine busy "
        f"{all_cpu / elapsed / cores:.0%}; the bot {bot_cpu / elapsed:.0%} of a core, Synapse "
        f"{synapse_cpu / elapsed:.0%}, the rest (APY's pipelines, the measuring clients, "
        f"others) {(all_cpu - bot_cpu - synapse_cpu) / elapsed:.0%}"
    )
    bound = min(reference, ceiling)
    limit = "the homeserver" if ceiling < reference else "the engine"
    figure.add(
        f"Liaison / APY alone = {ratio:.2f}; Liaison / ideal relay = {rate / ceiling:.2f}; "
        f"what limits it: {limit} (Liaison / the lower of the two = {rate / bound:.2f})"
    )
    figure.verdict(f"Liaison / APY alone >= {TARGET}, 0 lost, 0 duplicated", ratio >= TARGET)
    sys.stdout.write("\n" + figure.text() + "\n")
    if strict():
        assert figure.met, figure.text()
