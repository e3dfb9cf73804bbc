"""Benchmark 6: a soak, steady mixed traffic for a while: memory, descriptors, database size.

Nine rooms in three relay groups (fr/es/en, fr/es/pt, es/en/ar: five languages, language
detection on), three members sending a steady ``LIAISON_BENCH_SOAK_RATE`` messages a second
(default 3) for ``LIAISON_BENCH_SOAK_SECONDS`` (default 900; 180 in a quick run): half of the
texts unique (so the translation cache keeps growing), every tenth a reply, every twentieth an
edit of a recent message, every twentieth a reaction; ``!help`` every 10 s in a quiet room.

The bot runs with short horizons (the ledger 60 s, the relay map and the translation cache
120 s, the retention job every 30 s), so that within a short run the database reaches the
state a year-long run reaches after 90 days: from then on its size must stay flat.

Every ``LIAISON_BENCH_SOAK_SAMPLE`` seconds (default 30): the bot's resident memory, open file
descriptors, threads, the database file with its write-ahead log, and the ``!help`` round
trips of the period. At the end every message must have exactly one copy in each other room
of its group.

Targets: resident memory after warm-up (once the horizons are reached, 180 s) at most 150 MB
and flat (growth under 1 MB per 10,000 messages, the least-squares slope of the samples, which
only a long run can tell from the noise of a few hundred kilobytes); database size flat once
the horizons are reached (the last sample at most 15% above the first one taken after them);
none lost, none duplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bot.dev.devserver.apertium import LocalApertium
from bot.dev.devserver.synapse import LocalSynapse
from tests.benchmarks.conftest import BotProcesses, ClientFactory
from tests.benchmarks.measure import Results, percentile, process_memory, size, strict
from tests.benchmarks.rawclient import RawClient
from tests.benchmarks.scenario import link, relay_bot, rooms_with_bot, texts
from tests.support.language_samples import SAMPLES

GROUPS = (("fr", "es", "en"), ("fr", "es", "pt"), ("es", "en", "ar"))
HORIZON_SECONDS = 120
EVERY_SECONDS = 30
# warm-up: until the horizons are reached and the first runs after that have pruned (the
# ledger, the map and the cache have their steady size; SQLite's page cache is full)
WARM_UP_SECONDS = HORIZON_SECONDS + 2 * EVERY_SECONDS
HELP_EVERY = 10.0
RSS_TARGET_MB = 150.0
RSS_GROWTH_TARGET = 1.0  # MB per 10,000 messages after warm-up
DB_FLAT_TOLERANCE = 1.15


@dataclass
class Sample:
    at: float
    messages: int
    rss: float
    fds: int
    threads: int
    db_kib: int
    helps: list[float]

    def line(self) -> str:
        helps = (
            f"!help p50 {percentile(self.helps, 50) * 1000:.0f} ms (n={len(self.helps)})"
            if self.helps
            else "!help -"
        )
        return (
            f"t={self.at:.0f} s, {self.messages} msgs: RSS {self.rss:.1f} MB, {self.fds} fds, "
            f"{self.threads} threads, database {self.db_kib} KiB, {helps}"
        )


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (NaN for fewer than two distinct x)."""
    if len({x for x, _ in points}) < 2:
        return math.nan
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    num = sum((x - mx) * (y - my) for x, y in points)
    return num / sum((x - mx) ** 2 for x, _ in points)


def load_average() -> str:
    return Path("/proc/loadavg").read_text(encoding="ascii").split()[0]


def longest_batch_ms(lines: list[str]) -> float:
    """The longest retention batch the bot's log reports (one short write each)."""
    found = [float(m) for line in lines for m in re.findall(r"longest ([0-9.]+) ms", line)]
    return max(found, default=math.nan)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def database_kib(data_dir: Path) -> int:
    return (
        sum(
            (data_dir / name).stat().st_size
            for name in ("liaison.db", "liaison.db-wal")
            if (data_dir / name).exists()
        )
        // 1024
    )


def corpus(language: str) -> list[str]:
    if language in ("fr", "es", "en"):
        return texts(language, 60)
    return list(SAMPLES[language])


async def react(client: RawClient, room_id: str, event_id: str, key: str) -> None:
    txn = f"soak{time.time_ns()}"
    path = f"/rooms/{quote(room_id, safe='')}/send/m.reaction/{txn}"
    content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
    await client.request("PUT", path, content)


class Traffic:
    """Who sends what where, and what was sent (to check every copy at the end)."""

    def __init__(self, members: list[RawClient], rooms: list[tuple[str, str, int]]) -> None:
        self.members = members
        self.rooms = rooms  # (room, language, group)
        self.corpora = {lang: corpus(lang) for _, lang, _ in rooms}
        self.sent: list[tuple[str, str]] = []  # (room, event id) of plain messages
        # the last few messages of each room, with who wrote them (only the author may edit)
        self.recent: dict[str, list[tuple[str, RawClient]]] = {room: [] for room, _, _ in rooms}
        self.count = 0

    def others(self, room: str) -> list[str]:
        group = next(g for r, _, g in self.rooms if r == room)
        return [r for r, _, g in self.rooms if g == group and r != room]

    async def one(self, k: int) -> None:
        room, lang, _ = self.rooms[k % len(self.rooms)]
        member = self.members[k % len(self.members)]
        text = self.corpora[lang][k % len(self.corpora[lang])]
        if k % 2:
            text = f"{text} #{k}"  # half the texts unique: the cache keeps growing
        recent = self.recent[room]
        if k % 20 == 5 and recent:
            await react(member, room, recent[-1][0], "👍")
        elif k % 20 == 15 and recent:
            edited, author = recent[-1]
            new = {"msgtype": "m.text", "body": text}
            await author.send(
                room,
                f"* {text}",
                extra={
                    "m.new_content": new,
                    "m.relates_to": {"rel_type": "m.replace", "event_id": edited},
                },
            )
        else:
            extra = None
            if k % 10 == 3 and recent:
                extra = {"m.relates_to": {"m.in_reply_to": {"event_id": recent[-1][0]}}}
            event_id, _ = await member.send(room, text, extra=extra)
            self.sent.append((room, event_id))
            recent.append((event_id, member))
            del recent[:-5]
        self.count += 1


async def test_soak(
    synapse: LocalSynapse,
    apertium: LocalApertium,
    tmp_path: Path,
    clients: ClientFactory,
    bot_processes: BotProcesses,
    results: Results,
) -> None:
    duration = size("SOAK_SECONDS", 900, 180)
    rate = float(os.environ.get("LIAISON_BENCH_SOAK_RATE", "3"))
    every = size("SOAK_SAMPLE", 30, 30)
    bot = bot_processes.track(
        relay_bot(
            synapse,
            tmp_path,
            apertium.url,
            retention={
                "inbox_seconds": HORIZON_SECONDS // 2,
                "relay_map_seconds": HORIZON_SECONDS,
                "translation_cache_seconds": HORIZON_SECONDS,
                "every_seconds": EVERY_SECONDS,
            },
        )
    )
    await bot.start()
    members = [await clients(f"soaker{i}") for i in range(3)]
    observer = await clients("soakobserver")
    rooms = await rooms_with_bot(
        members[0], bot.user_id, 3 * len(GROUPS), members=[*members[1:], observer], name="soak"
    )
    quiet = (await rooms_with_bot(members[0], bot.user_id, 1, name="soak-quiet"))[0]
    layout: list[tuple[str, str, int]] = []
    for g, languages in enumerate(GROUPS):
        group_rooms = rooms[3 * g : 3 * g + 3]
        await link(members[0], list(zip(group_rooms, languages, strict=True)), f"soak{g}")
        layout += [(room, lang, g) for room, lang in zip(group_rooms, languages, strict=True)]
    traffic = Traffic(members, layout)
    load_before = load_average()
    assert bot.proc is not None
    pid = bot.proc.pid

    samples: list[Sample] = []
    helps: list[float] = []
    errors: list[str] = []
    stop = asyncio.Event()
    began = time.perf_counter()

    async def one(k: int) -> None:
        try:
            await traffic.one(k)
        except Exception as exc:  # a failed send is a finding, not the end of the soak
            errors.append(repr(exc))

    async def send_steadily() -> None:
        # each send on its own, so a slow answer from the homeserver does not lower the rate
        in_flight: set[asyncio.Task[None]] = set()
        for k in itertools.count():
            due = began + k / rate
            if due - began >= duration:
                break
            # pacing the load, not waiting for an event
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            task = asyncio.create_task(one(k))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)

    async def ask_for_help() -> None:
        while not stop.is_set():
            try:
                _, seconds = await members[0].command(quiet, "!help")
                helps.append(seconds)
            except AssertionError as exc:
                errors.append(str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HELP_EVERY)

    async def sample() -> None:
        taken = 0
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            rss, _ = process_memory(pid)
            samples.append(
                Sample(
                    time.perf_counter() - began,
                    traffic.count,
                    rss,
                    open_fds(pid),
                    threads(pid),
                    database_kib(bot.data_dir),
                    helps[taken:],
                )
            )
            taken = len(helps)

    background = [asyncio.create_task(ask_for_help()), asyncio.create_task(sample())]
    await send_steadily()
    # every copy of every message, exactly once
    wanted = [
        (event_id, target) for room, event_id in traffic.sent for target in traffic.others(room)
    ]
    await observer.until(
        lambda: all(key in observer.copies for key in wanted), 120, "every copy of the soak"
    )
    stop.set()
    await asyncio.gather(*background)
    lost = sum(1 for key in wanted if key not in observer.copies)
    duplicated = sum(1 for key in wanted if len(observer.copies.get(key, ())) > 1)

    figure = results.figure(
        f"8. Soak ({duration} s at {rate:g} msg/s, 9 rooms in 3 groups, fr/es/en/pt/ar, "
        f"detection on, horizons {HORIZON_SECONDS} s)"
    )
    for s in samples:
        figure.add(s.line())
    warm = [s for s in samples if s.at >= WARM_UP_SECONDS]
    settled = warm
    rss_after = max((s.rss for s in warm), default=float("nan"))
    growth = slope([(s.messages, s.rss) for s in warm]) * 10_000
    db_ratio = settled[-1].db_kib / settled[0].db_kib if len(settled) >= 2 else float("nan")
    figure.add(
        f"{traffic.count} messages, reactions and edits sent; {len(traffic.sent)} messages, "
        f"{len(wanted)} copies expected: {lost} lost, {duplicated} duplicated; "
        f"{len(errors)} error(s){': ' + errors[0] if errors else ''}"
    )
    figure.add(
        f"after warm-up: RSS at most {rss_after:.0f} MB, growth {growth:+.1f} MB per 10,000 "
        f"messages; database last / first after the horizons = {db_ratio:.2f}"
    )
    figure.add(
        "longest retention batch (one write on the event loop): "
        f"{longest_batch_ms(bot.lines):.1f} ms"
    )
    figure.add(
        f"the machine is shared with other people's test runs: load average {load_before} at the "
        f"start of the traffic, {load_average()} at its end (2 cores)"
    )
    figure.add(
        f"!help round trip under load: p50 {percentile(helps, 50) * 1000:.0f} ms, p99 {percentile(helps, 99) * 1000:.0f} ms (n={len(helps)})"
    )
    met = (
        lost == 0
        and duplicated == 0
        and rss_after <= RSS_TARGET_MB
        and (math.isnan(growth) or growth < RSS_GROWTH_TARGET)
        and (math.isnan(db_ratio) or db_ratio <= DB_FLAT_TOLERANCE)
    )
    figure.verdict(
        f"RSS <= {RSS_TARGET_MB:.0f} MB and growth < {RSS_GROWTH_TARGET:g} MB/10k msgs after "
        f"warm-up, database flat after the horizons, 0 lost, 0 duplicated",
        met,
    )
    assert lost == 0
    assert duplicated == 0
    if strict():
        assert met, figure.text()
