"""Benchmark 6: the bot's own time, from a sync response to the start of its last copy's send.

Liaison (the real CLI) runs with ``bot.trace: true`` in a group of four rooms (French source;
Spanish, English and Portuguese targets), translations cached. A member sends one message
at a time and waits for its three copies. The bot's trace file gives, for each message, the
milliseconds from the moment the sync response arrived to each of its steps: nio done with
the response, the batch ready, the ledger written, the room's lane reached, the copies
queued, the source language known, a copy rendered, the first and the last send started.
The homeserver's own time is outside this interval, so its noise cannot hide the bot's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.core.trace import TRACE_FILE
from bot.dev.devserver.apertium import LocalApertium
from bot.dev.devserver.synapse import LocalSynapse
from tests.benchmarks.conftest import BotProcesses, ClientFactory
from tests.benchmarks.measure import Results, percentile, size, strict
from tests.benchmarks.scenario import link, relay_bot, rooms_with_bot, texts

P50_TARGET_MS = 5.0
P90_TARGET_MS = 10.0
LANGUAGES = ("fr", "es", "en", "pt")
STEPS = ("nio", "batch", "accepted", "lane", "queued", "language", "rendered", "first_send")


async def test_in_bot_trace(
    synapse: LocalSynapse,
    apertium: LocalApertium,
    tmp_path: Path,
    clients: ClientFactory,
    bot_processes: BotProcesses,
    results: Results,
) -> None:
    messages = size("TRACE_MESSAGES", 200, 30)
    bot = bot_processes.track(relay_bot(synapse, tmp_path, apertium.url, bot={"trace": True}))
    await bot.start()
    alice = await clients("alice")
    bea = await clients("bea")
    rooms = await rooms_with_bot(alice, bot.user_id, len(LANGUAGES), members=[bea], name="trace")
    await link(alice, list(zip(rooms, LANGUAGES, strict=True)), "trace")
    source, targets = rooms[0], rooms[1:]
    sample_texts = texts("fr", min(messages, 200))
    for text in sample_texts:  # warm the translation cache; these lines are skipped below
        event_id, _ = await alice.send(source, text)
        await bea.copies_seen(event_id, targets)
    for index in range(messages):
        event_id, _ = await alice.send(source, sample_texts[index % len(sample_texts)])
        await bea.copies_seen(event_id, targets)
    assert await bot.terminate() == 0

    lines = (bot.data_dir / TRACE_FILE).read_text(encoding="utf-8").splitlines()
    traced = [json.loads(line)["ms"] for line in lines][len(sample_texts) :]
    assert len(traced) >= messages * 0.9, f"only {len(traced)} traced messages of {messages}"
    total = [t["last_send"] for t in traced]
    p50, p90 = percentile(total, 50), percentile(total, 90)
    figure = results.figure("6. In-bot time, sync response -> last copy's send started (3 targets)")
    figure.add(
        f"sync response -> last of 3 sends started: p50 {p50:.2f} / p90 {p90:.2f} / "
        f"p99 {percentile(total, 99):.2f} ms (n={len(total)})"
    )
    steps = []
    previous = "received"
    for step in (*STEPS, "last_send"):
        gaps = [t[step] - t[previous] for t in traced if step in t and previous in t]
        if gaps:
            steps.append(f"{previous} -> {step} {percentile(gaps, 50):.2f}")
            previous = step
    figure.add("steps, p50 ms: " + "; ".join(steps))
    figure.verdict(
        f"p50 <= {P50_TARGET_MS:g} ms and p90 <= {P90_TARGET_MS:g} ms",
        p50 <= P50_TARGET_MS and p90 <= P90_TARGET_MS,
    )
    sys.stdout.write("\n" + figure.text() + "\n")
    if strict():
        assert figure.met, figure.text()
