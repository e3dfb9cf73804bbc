"""Benchmark 3: burst throughput, every copy exactly once and in order, against a plain client.

Five relay groups of three rooms (fr, es, en); several members send their share of the burst,
each one message after another, spread over the fifteen rooms, texts in the room's language
(translations cached). Each message has two copies.

Ceiling: the same members send the same burst into the same rooms before they are linked,
while one plain client sends the two copies of each message as soon as the homeserver has
accepted it (one queue per room, all rooms in parallel, as the bot does): the rate one plain
client reaches with the homeserver under the same load. Both rates count copies from the first
send to the last copy seen by an observing member.

Where the time goes: the CPU seconds Synapse and the bot each used during the relayed burst,
and the bot's resident memory after it (what limits one Liaison, and by how much).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from bot.core.matrix.client import LIAISON_KEY
from bot.dev.devserver.apertium import LocalApertium
from bot.dev.devserver.synapse import LocalSynapse
from tests.benchmarks.conftest import BotProcesses, ClientFactory
from tests.benchmarks.measure import (
    Results,
    process_cpu_seconds,
    process_memory,
    size,
    strict,
)
from tests.benchmarks.rawclient import RawClient
from tests.benchmarks.scenario import link, relay_bot, rooms_with_bot, texts

TARGET = 0.9
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

    async def send(
        self, senders: list[RawClient], on_sent: Any = None
    ) -> tuple[float, list[tuple[str, str]]]:
        """Every sender sends its messages one after another; return (start, [(room, id)])."""
        sent: list[tuple[str, str]] = []
        start = time.perf_counter()

        async def run(who: int) -> None:
            for sender, room, text in self.plan:
                if sender != who:
                    continue
                event_id, _ = await senders[who].send(room, text)
                sent.append((room, event_id))
                if on_sent is not None:
                    on_sent(room, event_id, text, senders[who].user_id)

        await asyncio.gather(*(run(who) for who in range(len(senders))))
        return start, sent


class PlainRelay:
    """One plain client sending each message's copies: a queue per room, rooms in parallel."""

    def __init__(self, client: RawClient, burst: Burst) -> None:
        self.client = client
        self.burst = burst
        self.queues: dict[str, asyncio.Queue[dict[str, Any] | None]] = {}
        self.workers: list[asyncio.Task[None]] = []

    def copy(self, room: str, event_id: str, text: str, sender: str) -> None:
        name = sender.split(":")[0][1:]
        for target in self.burst.others(room):
            content = {
                "msgtype": "m.text",
                "body": f"{name} [xx]: {text}",
                "format": "org.matrix.custom.html",
                "formatted_body": f'<a href="https://matrix.to/#/{room}/{event_id}">{name}</a>'
                f" [xx]: {text}",
                "m.mentions": {},
                LIAISON_KEY: {"kind": "relay", "source": event_id},
            }
            self._queue(target).put_nowait(content)

    def _queue(self, room: str) -> asyncio.Queue[dict[str, Any] | None]:
        if room not in self.queues:
            queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
            self.queues[room] = queue
            self.workers.append(asyncio.create_task(self._worker(room, queue)))
        return self.queues[room]

    async def _worker(self, room: str, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        while (content := await queue.get()) is not None:
            body = content.pop("body")
            await self.client.send(room, body, extra=content)

    async def close(self) -> None:
        for queue in self.queues.values():
            queue.put_nowait(None)
        await asyncio.gather(*self.workers)


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
    bot = bot_processes.track(relay_bot(synapse, tmp_path, apertium.url))
    await bot.start()
    senders = [await clients(f"sender{i}") for i in range(SENDERS)]
    observer = await clients("observer")
    plain = await clients("plainrelay", sync=False)
    rooms = await rooms_with_bot(
        senders[0],
        bot.user_id,
        GROUPS * 3,
        members=[*senders[1:], observer, plain],
        name="burst",
    )
    burst = Burst(rooms, total, variety)
    copies = 2 * total
    timeout = max(120.0, total * 0.5)

    # the ceiling: rooms not linked yet, one plain client relays
    relay_plain = PlainRelay(plain, burst)
    start, sent = await burst.send(senders, relay_plain.copy)
    last = await all_copies(observer, burst, sent, timeout)
    await relay_plain.close()
    ceiling = copies / (last - start)

    for g in range(GROUPS):
        group = rooms[3 * g : 3 * g + 3]
        await link(senders[0], list(zip(group, LANGUAGES, strict=True)), f"burst{g}")
    for lang, room in zip(LANGUAGES, rooms[:3], strict=True):  # warm the translation cache
        for text in burst.by_language[lang]:
            event_id, _ = await senders[0].send(room, text)
            await observer.copies_seen(event_id, burst.others(room))

    assert synapse.pid is not None
    assert bot.proc is not None
    cpu_before = (process_cpu_seconds(synapse.pid), process_cpu_seconds(bot.proc.pid))
    start, sent = await burst.send(senders)
    last = await all_copies(observer, burst, sent, timeout)
    rate = copies / (last - start)
    synapse_cpu = process_cpu_seconds(synapse.pid) - cpu_before[0]
    bot_cpu = process_cpu_seconds(bot.proc.pid) - cpu_before[1]
    rss, hwm = process_memory(bot.proc.pid)
    # one more message per room: once its copies are in, nothing of the burst is still queued
    closing = [
        (room, (await senders[0].send(room, "La réunion commence à midi."))[0]) for room in rooms
    ]
    await all_copies(observer, burst, closing, timeout)
    check_exactly_once_in_order(observer, burst, sent, bot.user_id)

    ratio = rate / ceiling
    figure = results.figure(
        f"3. Burst throughput ({total} messages from {SENDERS} members, "
        f"{GROUPS} groups of 3 rooms, {copies} copies)"
    )
    figure.add(f"ceiling, one plain client relaying: {ceiling:.1f} copies/s")
    figure.add(f"relay: {rate:.1f} copies/s; every copy exactly once, in order per room")
    figure.add(f"relay / ceiling = {ratio:.2f}")
    elapsed = last - start
    figure.add(
        f"CPU during the relayed burst ({elapsed:.0f} s): Synapse {synapse_cpu:.1f} s "
        f"({synapse_cpu / elapsed:.0%} of a core), bot {bot_cpu:.1f} s "
        f"({bot_cpu / elapsed:.0%} of a core)"
    )
    figure.add(f"bot memory after the burst: {rss:.0f} MB resident (peak {hwm:.0f} MB)")
    figure.verdict(f"relay / ceiling >= {TARGET}", ratio >= TARGET)
    sys.stdout.write("\n" + figure.text() + "\n")

    assert await bot.terminate() == 0
    if strict():
        assert ratio >= TARGET, figure.text()
