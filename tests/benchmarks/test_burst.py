"""Benchmark 3: a burst of 1,000 messages, Liaison against a sync-driven ideal relay.

Five relay groups of three rooms (fr, es, en) for each relay; four members send their share
of the burst, each one message after another, spread over the fifteen rooms, texts in the
room's language (translations cached). Each message has two copies.

The ideal relay (``peer.py`` in ``queued`` mode) is a plain matrix-nio client driven by its
sync, like the bot, with an ordered queue per target room, sending copies it was given
beforehand. Runs go ideal, Liaison, Liaison, ideal, each in its own rooms; a run's rate counts
copies from its first send to the last copy seen by an observing member. Every copy must
arrive exactly once, in the order of its room's messages.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from bot.dev.devserver.apertium import LocalApertium
from bot.dev.devserver.synapse import LocalSynapse
from tests.benchmarks.conftest import BotProcesses, ClientFactory
from tests.benchmarks.measure import Results, cpu_seconds, size, strict
from tests.benchmarks.rawclient import RawClient
from tests.benchmarks.relays import translations
from tests.benchmarks.scenario import (
    Peer,
    joined_by,
    link,
    relay_bot,
    rooms_for,
    rooms_with_bot,
    texts,
)

TARGET = 0.95
GROUPS = 5
LANGUAGES = ("fr", "es", "en")
SENDERS = 4


class Burst:
    """Who sends what where; the rooms of group g are rooms[3g : 3g + 3]."""

    def __init__(self, rooms: list[str], total: int, variety: int) -> None:
        self.rooms = rooms
        self.by_language = {lang: texts(lang, variety) for lang in LANGUAGES}
        self.plan: list[tuple[int, str, str]] = []  # (sender, room, text)
        for k in range(total):
            index = k % len(rooms)
            lang = LANGUAGES[index % 3]
            self.plan.append((k % SENDERS, rooms[index], self.by_language[lang][k % variety]))

    def others(self, room: str) -> list[str]:
        index = self.rooms.index(room)
        group = self.rooms[index - index % 3 : index - index % 3 + 3]
        return [r for r in group if r != room]

    async def send(self, senders: list[RawClient]) -> tuple[float, list[tuple[str, str]]]:
        """Every sender sends its messages one after another; return (start, [(room, id)])."""
        sent: list[tuple[str, str]] = []
        start = time.perf_counter()

        async def run(who: int) -> None:
            for sender, room, text in self.plan:
                if sender != who:
                    continue
                event_id, _ = await senders[who].send(room, text)
                sent.append((room, event_id))

        await asyncio.gather(*(run(who) for who in range(len(senders))))
        return start, sent


async def all_copies(
    observer: RawClient,
    burst: Burst,
    sent: list[tuple[str, str]],
    timeout: float,  # noqa: ASYNC109
) -> float:
    """When the last copy of the burst arrived."""
    wanted = [(event_id, target) for room, event_id in sent for target in burst.others(room)]
    await observer.until(
        lambda: all(key in observer.copies for key in wanted), timeout, "every copy of the burst"
    )
    return max(observer.copies[key][0].at for key in wanted)


def check_exactly_once_in_order(
    observer: RawClient, burst: Burst, sent: list[tuple[str, str]], bot_user_id: str
) -> None:
    sources = {event_id: room for room, event_id in sent}
    for room, event_id in sent:
        for target in burst.others(room):
            copies = observer.copies[(event_id, target)]
            assert len(copies) == 1, f"{len(copies)} copies of {event_id} in {target}"
            assert copies[0].event["sender"] == bot_user_id
    for source_room in burst.rooms:
        order = [a.event_id for a in observer.timelines[source_room] if a.event_id in sources]
        for target in burst.others(source_room):
            copied = [
                a.source
                for a in observer.timelines[target]
                if a.source in sources and sources[a.source] == source_room
            ]
            assert copied == order, f"copies from {source_room} out of order in {target}"


async def test_burst(
    synapse: LocalSynapse,
    apertium: LocalApertium,
    tmp_path: Path,
    clients: ClientFactory,
    bot_processes: BotProcesses,
    results: Results,
) -> None:
    total = size("BURST_MESSAGES", 1000, 150)
    variety = size("BURST_TEXTS", 40, 12)
    senders = [await clients(f"sender{i}") for i in range(SENDERS)]
    observer = await clients("observer")
    members = [*senders[1:], observer]
    bot = bot_processes.track(relay_bot(synapse, tmp_path, apertium.url))
    await bot.start()
    ours = await rooms_with_bot(senders[0], bot.user_id, GROUPS * 3, members=members, name="bl")
    for g in range(GROUPS):
        group = ours[3 * g : 3 * g + 3]
        await link(senders[0], list(zip(group, LANGUAGES, strict=True)), f"burst{g}")
    ours_burst = Burst(ours, total, variety)
    for lang, room in zip(LANGUAGES, ours[:3], strict=True):  # warm the translation cache
        for text in ours_burst.by_language[lang]:
            event_id, _ = await senders[0].send(room, text)
            await observer.copies_seen(event_id, ours_burst.others(room))

    peer = Peer(synapse, tmp_path, "queued")
    await peer.register()
    theirs = await rooms_for(senders[0], peer.user_id, GROUPS * 3, members=members, name="bi")
    ideal_burst = Burst(theirs, total, variety)
    copies: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        others = [other for other in LANGUAGES if other != lang]
        found = await translations(apertium.url, ideal_burst.by_language[lang], others, lang)
        copies.update(found)
    routes = {
        room: {other: LANGUAGES[theirs.index(other) % 3] for other in ideal_burst.others(room)}
        for room in theirs
    }
    languages = {room: LANGUAGES[i % 3] for i, room in enumerate(theirs)}
    await peer.start(routes, languages, copies=copies)
    await joined_by(senders[0], theirs, peer.user_id)

    copies_per_run = 2 * total
    timeout = max(120.0, total * 0.5)
    rates: dict[str, list[float]] = {"ideal": [], "liaison": []}
    # CPU per copy of the relay's process and of Synapse, over each kind's runs
    cpu: dict[str, list[float]] = {"ideal": [0.0, 0.0], "liaison": [0.0, 0.0]}
    for kind in ("ideal", "liaison", "liaison", "ideal"):
        burst = ideal_burst if kind == "ideal" else ours_burst
        process = peer.proc if kind == "ideal" else bot.proc
        pid = process.pid if process is not None else None
        relay_cpu, synapse_cpu = cpu_seconds(pid), cpu_seconds(synapse.pid)
        start, sent = await burst.send(senders)
        last = await all_copies(observer, burst, sent, timeout)
        rates[kind].append(copies_per_run / (last - start))
        cpu[kind][0] += (cpu_seconds(pid) - relay_cpu) / copies_per_run / 2
        cpu[kind][1] += (cpu_seconds(synapse.pid) - synapse_cpu) / copies_per_run / 2
        # one more message per room: once its copies are in, nothing of the burst is queued
        closing = [
            (room, (await senders[0].send(room, burst.by_language[LANGUAGES[i % 3]][0]))[0])
            for i, room in enumerate(burst.rooms)
        ]
        await all_copies(observer, burst, closing, timeout)
        relay_user = peer.user_id if kind == "ideal" else bot.user_id
        check_exactly_once_in_order(observer, burst, sent, relay_user)
    await peer.stop()
    assert await bot.terminate() == 0

    ideal = sum(rates["ideal"]) / len(rates["ideal"])
    liaison = sum(rates["liaison"]) / len(rates["liaison"])
    ratio = liaison / ideal
    figure = results.figure(
        f"3. Burst ({total} messages from {SENDERS} members, {GROUPS} groups of 3 rooms, "
        f"{copies_per_run} copies per run, cached)"
    )
    runs = ", ".join(f"{k} {r:.1f}" for k, r in zip(
        ("ideal", "liaison", "liaison", "ideal"),
        [rates["ideal"][0], *rates["liaison"], rates["ideal"][1]],
        strict=True,
    ))  # fmt: skip
    figure.add(f"runs in order, copies/s: {runs}")
    figure.add(
        f"ideal relay (sync-driven, ordered queue per room): {ideal:.1f} copies/s; "
        f"Liaison: {liaison:.1f} copies/s; every copy exactly once, in order per room"
    )
    figure.add(
        "CPU per copy (relay process / Synapse): "
        + "; ".join(
            f"{kind} {cpu[kind][0] * 1000:.1f} / {cpu[kind][1] * 1000:.1f} ms" for kind in cpu
        )
    )
    figure.add(f"Liaison / ideal = {ratio:.2f}")
    figure.verdict(f"Liaison / ideal >= {TARGET}, 0 lost, 0 duplicated", ratio >= TARGET)
    sys.stdout.write("\n" + figure.text() + "\n")
    if strict():
        assert figure.met, figure.text()
