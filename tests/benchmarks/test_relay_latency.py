"""Benchmark 1: relay latency against two plain hops on the same homeserver.

Floor: a plain client's message until another client's sync delivers it (one hop), in a room
without the bot. Relay: a member's message in the French room of a four-room group (fr, es, en,
pt) until another member's sync delivers the bot's copy in each other room (two hops: member ->
bot, bot -> member), translations already cached (the same texts were relayed once before).
Floor and relay samples alternate, so load from elsewhere on the machine hits both alike.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.dev.devserver.apertium import LocalApertium
from bot.dev.devserver.synapse import LocalSynapse
from tests.benchmarks.conftest import BotProcesses, ClientFactory
from tests.benchmarks.measure import Results, percentile, size, spread, strict
from tests.benchmarks.scenario import link, one_hop, plain_room, relay_bot, rooms_with_bot, texts

TARGET = 1.15
LANGUAGES = ("fr", "es", "en", "pt")


async def test_relay_latency(
    synapse: LocalSynapse,
    apertium: LocalApertium,
    tmp_path: Path,
    clients: ClientFactory,
    bot_processes: BotProcesses,
    results: Results,
) -> None:
    messages = size("LATENCY_MESSAGES", 100, 20)
    bot = bot_processes.track(relay_bot(synapse, tmp_path, apertium.url))
    await bot.start()
    alice = await clients("alice")
    bea = await clients("bea")
    rooms = await rooms_with_bot(alice, bot.user_id, len(LANGUAGES), members=[bea], name="lat")
    by_lang = dict(zip(LANGUAGES, rooms, strict=True))
    await link(alice, [(room, lang) for lang, room in by_lang.items()], "latency")
    plain = await plain_room(alice, [bea])
    source, targets = by_lang["fr"], [by_lang[lang] for lang in LANGUAGES[1:]]
    sample_texts = texts("fr", messages)

    # warm the translation cache with the very texts measured below
    for text in sample_texts:
        event_id, _ = await alice.send(source, text)
        await bea.copies_seen(event_id, targets)

    floor: list[float] = []
    floor_delivery: list[float] = []
    relay: dict[str, list[float]] = {room: [] for room in targets}
    last: list[float] = []
    bot_turn: list[float] = []
    copy_delivery: list[float] = []
    for text in sample_texts:
        floor.append(await one_hop(alice, bea, plain, text))
        plain_event = bea.timelines[plain][-1]
        floor_delivery.append((plain_event.wall_ms - plain_event.stamp_ms) / 1000)
        event_id, began = await alice.send(source, text)
        seen = await bea.copies_seen(event_id, targets)
        for room, at in seen.items():
            relay[room].append(at - began)
        last.append(max(seen.values()) - began)
        await bea.seen(event_id)
        stamped = bea.by_id[event_id].stamp_ms
        for room in targets:
            copy = bea.copies[(event_id, room)][0]
            bot_turn.append((copy.stamp_ms - stamped) / 1000)
            copy_delivery.append((copy.wall_ms - copy.stamp_ms) / 1000)

    pooled = [value for values in relay.values() for value in values]
    ratio = percentile(pooled, 50) / (2 * percentile(floor, 50))
    figure = results.figure("1. Relay latency (4 rooms fr/es/en/pt, cached translations)")
    figure.add(f"floor, one hop: {spread(floor)}")
    figure.add(f"relay, every copy: {spread(pooled)}")
    for lang, room in zip(LANGUAGES[1:], targets, strict=True):
        figure.add(f"relay fr->{lang}: {spread(relay[room])}")
    figure.add(f"relay, last of 3 copies: {spread(last)}")
    figure.add(
        "where the time goes (homeserver timestamps): "
        f"floor, stamped -> seen p50 {percentile(floor_delivery, 50) * 1000:.0f} ms; "
        f"bot's turn, source stamped -> copy stamped p50 {percentile(bot_turn, 50) * 1000:.0f} ms "
        f"(p90 {percentile(bot_turn, 90) * 1000:.0f}); "
        f"copy stamped -> seen p50 {percentile(copy_delivery, 50) * 1000:.0f} ms"
    )
    figure.add(f"relay_p50 / (2 x floor_p50) = {ratio:.2f}")
    figure.verdict(f"ratio <= {TARGET}", ratio <= TARGET)
    sys.stdout.write("\n" + figure.text() + "\n")

    assert await bot.terminate() == 0
    if strict():
        assert ratio <= TARGET, figure.text()
