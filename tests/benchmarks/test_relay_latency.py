"""Benchmark 1: relay latency, Liaison against an ideal and a naive relay on one homeserver.

Three relays, each with its own four rooms (a French source room; Spanish, English and
Portuguese targets, the last two through a Spanish pivot) and the same two members:
- the ideal relay (a plain matrix-nio client sending copies it was given beforehand, all at
  once: nothing a relay does is faster on this homeserver);
- Liaison (the real CLI in its own process, translating with Apertium);
- the naive relay (translates each target in turn through APY, then sends).
A sample is a member's message in the source room until another member's sync has delivered
the copy in each target room. Relays take turns (the order turns every round) and a plain
message between the two members (one hop; twice that is the two-hop floor) is timed in every
round, so load from elsewhere hits all alike.

Cases: (a) warm cache, texts Liaison relayed once before; (b) unique texts of 1 to 3
sentences, never seen before, where the reference is the ideal relay plus the slowest
target's translation by APY alone, timed in the same round; (c) unique texts of about 1,500
characters, the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

import aiohttp

from bot.dev.devserver.apertium import LocalApertium
from bot.dev.devserver.synapse import LocalSynapse
from tests.benchmarks.conftest import BotProcesses, ClientFactory
from tests.benchmarks.measure import Figure, Results, percentile, size, spread, strict
from tests.benchmarks.relays import Side, ratio_line, side_by_side, slowest_target
from tests.benchmarks.scenario import long_texts, one_hop, plain_room, texts, unique_texts

P50_TARGET = 1.05
P90_TARGET = 1.10
UNCACHED_TARGET = 1.10
LANGUAGES = ("es", "en", "pt")


async def test_relay_latency(
    synapse: LocalSynapse,
    apertium: LocalApertium,
    tmp_path: Path,
    clients: ClientFactory,
    bot_processes: BotProcesses,
    results: Results,
) -> None:
    samples = size("LATENCY_MESSAGES", 100, 20)
    long_samples = size("LATENCY_LONG", 20, 4)
    cached = texts("fr", min(samples, 200))
    unique = unique_texts("fr", samples, avoid=cached, seed=17)
    long = long_texts("fr", long_samples, seed=17)
    side = await side_by_side(
        synapse, apertium, tmp_path, clients, bot_processes,
        languages=LANGUAGES, texts=[*cached, *unique, *long], name="lat",
    )  # fmt: skip
    plain = await plain_room(side.sender, [side.observer])
    kinds = list(side.relays)

    # (a) warm cache: Liaison relays every text once first
    for text in cached:
        await side.sample("liaison", text)
    side.restart_figures()
    floor: list[float] = []
    for index in range(samples):
        text = cached[index % len(cached)]
        floor.append(await one_hop(side.sender, side.observer, plain, text))
        await side.round(index, text, kinds)
    warm = results.figure(
        "1a. Relay latency, warm cache (fr -> es, en, pt; each relay in its own rooms)"
    )
    two_hops = 2 * percentile(floor, 50)
    verdict(warm, side, floor, two_hops)

    # (b) and (c): texts never seen before
    async with aiohttp.ClientSession() as http:
        side.restart_figures()
        figure = results.figure("1b. Relay latency, unique texts of 1 to 3 sentences (uncached)")
        await uncached(side, http, unique, kinds, figure)
        side.restart_figures()
        figure = results.figure(
            "1c. Relay latency, unique texts of about 1,500 characters (uncached)"
        )
        await uncached(side, http, long, kinds, figure)
    await side.stop()


def verdict(figure: Figure, side: Side, floor: list[float], two_hops: float) -> None:
    figure.add(f"floor, one plain hop: {spread(floor)}; two-hop floor p50 {two_hops * 1000:.1f} ms")
    figure.add("every copy:")
    figure.lines += [f"  {line}" for line in ratio_line(side.relays, two_hops)]
    figure.add("last of the 3 copies:")
    figure.lines += [f"  {line}" for line in ratio_line(side.relays, two_hops, "last")]
    ideal, ours = side.relays["ideal"].every, side.relays["liaison"].every
    p50 = percentile(ours, 50) / percentile(ideal, 50)
    p90 = percentile(ours, 90) / percentile(ideal, 90)
    figure.verdict(
        f"Liaison p50 <= {P50_TARGET} x ideal and p90 <= {P90_TARGET} x ideal "
        f"(measured {p50:.2f} and {p90:.2f})",
        p50 <= P50_TARGET and p90 <= P90_TARGET,
    )
    sys.stdout.write("\n" + figure.text() + "\n")
    if strict():
        assert figure.met, figure.text()


async def uncached(
    side: Side,
    http: aiohttp.ClientSession,
    sample_texts: list[str],
    kinds: list[str],
    figure: Figure,
) -> None:
    engine: list[float] = []
    floor: list[float] = []
    plain = await plain_room(side.sender, [side.observer])
    languages = sorted(set(side.relays["ideal"].targets.values()))
    for index, text in enumerate(sample_texts):
        floor.append(await one_hop(side.sender, side.observer, plain, text))
        engine.append(await slowest_target(side.apertium, http, text, languages))
        await side.round(index, text, kinds)
    two_hops = 2 * percentile(floor, 50)
    ideal = side.relays["ideal"].every
    reference = percentile(ideal, 50) + percentile(engine, 50)
    ours = percentile(side.relays["liaison"].every, 50)
    figure.add(f"floor, one plain hop: {spread(floor)}; two-hop floor p50 {two_hops * 1000:.1f} ms")
    figure.add(f"APY alone, slowest target of each text (pivots included): {spread(engine)}")
    figure.add("every copy:")
    figure.lines += [f"  {line}" for line in ratio_line(side.relays, two_hops)]
    figure.add("last of the 3 copies:")
    figure.lines += [f"  {line}" for line in ratio_line(side.relays, two_hops, "last")]
    figure.add(
        f"reference, ideal p50 + APY slowest target p50 = {reference * 1000:.1f} ms; "
        f"Liaison p50 / reference = {ours / reference:.2f}"
    )
    figure.verdict(
        f"Liaison p50 <= {UNCACHED_TARGET} x reference", ours <= UNCACHED_TARGET * reference
    )
    sys.stdout.write("\n" + figure.text() + "\n")
    if strict():
        assert figure.met, figure.text()
