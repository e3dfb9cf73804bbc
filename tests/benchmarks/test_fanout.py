"""Benchmark 2: fan-out to 10 rooms, Liaison against the ideal relay on one homeserver.

Liaison (the real CLI) and the ideal relay (``peer.py``: a plain matrix-nio client sending
copies it was given beforehand, all at once) each relay a French source room to ten target
rooms (Spanish, English and Portuguese in turn; translations cached). A sample is a member's
message until another member's sync has delivered the copy in all ten rooms; the two relays
take turns, and a plain one-hop message is timed every round for the floor.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.dev.devserver.apertium import LocalApertium
from bot.dev.devserver.synapse import LocalSynapse
from tests.benchmarks.conftest import BotProcesses, ClientFactory
from tests.benchmarks.measure import Results, percentile, size, spread, strict
from tests.benchmarks.relays import ratio_line, side_by_side
from tests.benchmarks.scenario import one_hop, plain_room, texts

TARGET = 1.05
FANOUT = 10
TARGET_LANGUAGES = ("es", "en", "pt")


async def test_fanout(
    synapse: LocalSynapse,
    apertium: LocalApertium,
    tmp_path: Path,
    clients: ClientFactory,
    bot_processes: BotProcesses,
    results: Results,
) -> None:
    rounds = size("FANOUT_MESSAGES", 100, 15)
    languages = [TARGET_LANGUAGES[i % 3] for i in range(FANOUT)]
    sample_texts = texts("fr", min(rounds, 200))
    side = await side_by_side(
        synapse, apertium, tmp_path, clients, bot_processes,
        languages=languages, texts=sample_texts, kinds=("ideal", "liaison"), name="fan",
    )  # fmt: skip
    plain = await plain_room(side.sender, [side.observer])
    for text in sample_texts:  # warm Liaison's translation cache
        await side.sample("liaison", text)
    side.restart_figures()
    floor: list[float] = []
    kinds = list(side.relays)
    for index in range(rounds):
        text = sample_texts[index % len(sample_texts)]
        floor.append(await one_hop(side.sender, side.observer, plain, text))
        await side.round(index, text, kinds)
    await side.stop()

    two_hops = 2 * percentile(floor, 50)
    ours, ideal = side.relays["liaison"].last, side.relays["ideal"].last
    ratio = percentile(ours, 50) / percentile(ideal, 50)
    figure = results.figure(f"2. Fan-out to {FANOUT} rooms (time to the last copy, cached)")
    figure.add(f"floor, one plain hop: {spread(floor)}; two-hop floor p50 {two_hops * 1000:.1f} ms")
    figure.lines += ratio_line(side.relays, two_hops, "last")
    figure.verdict(f"Liaison p50 <= {TARGET} x ideal (measured {ratio:.2f})", ratio <= TARGET)
    sys.stdout.write("\n" + figure.text() + "\n")
    if strict():
        assert figure.met, figure.text()
