"""Benchmark 2: fan-out, the time until the last of N copies arrives, for N = 1, 4 and 10.

Relay: a member's message in the French room of a group of N + 1 rooms (targets in Spanish,
English and Portuguese in turn, translations cached) until another member's sync has delivered
the copy in every target room. Floor: one plain client sending the same text into N plain
rooms at once, until the other client has seen all N. Rounds alternate over N and over floor
and relay, so load from elsewhere hits all alike.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.dev.devserver.apertium import LocalApertium
from bot.dev.devserver.synapse import LocalSynapse
from tests.benchmarks.conftest import BotProcesses, ClientFactory
from tests.benchmarks.measure import Results, percentile, size, spread, strict
from tests.benchmarks.rawclient import RawClient
from tests.benchmarks.scenario import link, plain_room, relay_bot, rooms_with_bot, texts

TARGET = 1.3
FANOUTS = (1, 4, 10)
TARGET_LANGUAGES = ("es", "en", "pt")


async def plain_fanout(
    sender: RawClient, observer: RawClient, rooms: list[str], text: str
) -> float:
    sent = await asyncio.gather(*(sender.send(room, text) for room in rooms))
    began = min(at for _, at in sent)
    seen = [await observer.seen(event_id) for event_id, _ in sent]
    return max(seen) - began


async def test_fanout(
    synapse: LocalSynapse,
    apertium: LocalApertium,
    tmp_path: Path,
    clients: ClientFactory,
    bot_processes: BotProcesses,
    results: Results,
) -> None:
    rounds = size("FANOUT_MESSAGES", 30, 8)
    bot = bot_processes.track(relay_bot(synapse, tmp_path, apertium.url))
    await bot.start()
    alice = await clients("alice")
    bea = await clients("bea")
    groups: dict[int, tuple[str, list[str]]] = {}
    for n in FANOUTS:
        rooms = await rooms_with_bot(alice, bot.user_id, n + 1, members=[bea], name=f"fan{n}")
        languages = ["fr"] + [TARGET_LANGUAGES[i % 3] for i in range(n)]
        await link(alice, list(zip(rooms, languages, strict=True)), f"fanout{n}")
        groups[n] = (rooms[0], rooms[1:])
    plain = [await plain_room(alice, [bea], name=f"plain{i}") for i in range(max(FANOUTS))]
    sample_texts = texts("fr", rounds)

    for text in sample_texts:  # warm the translation cache
        for source, targets in groups.values():
            event_id, _ = await alice.send(source, text)
            await bea.copies_seen(event_id, targets)

    relay: dict[int, list[float]] = {n: [] for n in FANOUTS}
    floor: dict[int, list[float]] = {n: [] for n in FANOUTS}
    for text in sample_texts:
        for n, (source, targets) in groups.items():
            floor[n].append(await plain_fanout(alice, bea, plain[:n], text))
            event_id, began = await alice.send(source, text)
            seen = await bea.copies_seen(event_id, targets)
            relay[n].append(max(seen.values()) - began)

    ratio = percentile(relay[10], 50) / percentile(relay[1], 50)
    floor_ratio = percentile(floor[10], 50) / percentile(floor[1], 50)
    figure = results.figure("2. Fan-out (time to the last of N copies, cached translations)")
    for n in FANOUTS:
        figure.add(f"N={n}: relay {spread(relay[n])}; floor (plain client) {spread(floor[n])}")
    excess = ", ".join(
        f"N={n} {(percentile(relay[n], 50) - percentile(floor[n], 50)) * 1000:.0f} ms"
        for n in FANOUTS
    )
    figure.add(f"relay minus floor (p50): {excess}")
    figure.add(f"relay N=10 / N=1 (p50) = {ratio:.2f}; floor N=10 / N=1 (p50) = {floor_ratio:.2f}")
    figure.verdict(f"relay N=10 / N=1 <= {TARGET}", ratio <= TARGET)
    sys.stdout.write("\n" + figure.text() + "\n")

    assert await bot.terminate() == 0
    if strict():
        assert ratio <= TARGET, figure.text()
