"""Benchmark 5: the bot joined to 1,000 rooms: restart-to-ready, memory, and ``!help``.

An organiser account creates the rooms with the bot invited (a bounded number at a time); the
bot (the real CLI, a process of its own) joins each on its invite. Then:
- ``!help`` round trip in a quiet room, against the floor of two plain hops (one plain client's
  message seen by another client's sync, alternating with the command);
- resident memory of the bot process (VmRSS and its peak VmHWM from /proc), against the same
  process right after its first start in no room;
- restart-to-ready: SIGTERM, start the CLI again, until its log says the first sync is done,
  from the stored sync token and the stored room state; for reference: the homeserver answering
  a first sync that asks for every room's full state (what a start without the stored state
  asks) to a plain HTTP client.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp

from bot.core.storage import ledger as inbox
from bot.core.storage.database import Database
from bot.dev.devserver.synapse import LocalSynapse
from tests.benchmarks.conftest import BotProcesses, ClientFactory
from tests.benchmarks.measure import (
    Results,
    percentile,
    process_memory,
    size,
    spread,
    strict,
)
from tests.benchmarks.rawclient import RawClient
from tests.benchmarks.scenario import bounded, one_hop, plain_room, rooms_with_bot
from tests.support.botprocess import BotProcess

READY_TARGET = 5.0
MEMORY_TARGET_MB = 120.0
BOT_SYNC_FILTER = {
    "presence": {"types": []},
    "account_data": {"types": []},
    "room": {"ephemeral": {"types": []}, "timeline": {"limit": 100}},
}


async def joined_count(hs: LocalSynapse, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(f"{hs.url}/_matrix/client/v3/joined_rooms") as resp,
    ):
        return len((await resp.json())["joined_rooms"])


# the bot joins 1,000 rooms over minutes; the joined-rooms API has no change notification
JOIN_POLL_SECONDS = 1.0


async def wait_joined(hs: LocalSynapse, token: str, count: int, timeout: float) -> None:  # noqa: ASYNC109
    """Poll the homeserver until the bot is in ``count`` rooms (joins take a while each)."""
    deadline = time.monotonic() + timeout
    while (joined := await joined_count(hs, token)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"the bot joined {joined} of {count} rooms within {timeout} s")
        await asyncio.sleep(JOIN_POLL_SECONDS)


async def first_sync_floor(hs: LocalSynapse, token: str, since: str, limit: int) -> float:
    """The bot's first sync after a restart (full state since the token), as plain HTTP.

    Each try asks with its own timeline limit (the rooms hold far fewer events, so the answer is
    the same size): Synapse keeps a sync answer for two minutes for an identical request, and a
    floor served from that cache, or a bot served from the floor's, would measure nothing.
    """
    sync_filter = json.loads(json.dumps(BOT_SYNC_FILTER))
    sync_filter["room"]["timeline"]["limit"] = limit
    params = {
        "since": since,
        "full_state": "true",
        "timeout": "0",
        "filter": json.dumps(sync_filter),
    }
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        began = time.perf_counter()
        async with http.get(f"{hs.url}/_matrix/client/v3/sync", params=params) as resp:
            await resp.json()
            assert resp.status == 200
        return time.perf_counter() - began


async def help_round_trips(
    sender: RawClient, observer: RawClient, quiet: str, plain: str, samples: int
) -> tuple[list[float], list[float]]:
    helps: list[float] = []
    floor: list[float] = []
    for _ in range(samples):
        floor.append(await one_hop(sender, observer, plain, "Le marché commence à midi."))
        answer, seconds = await sender.command(quiet, "!help")
        assert "!relay" in answer, answer
        helps.append(seconds)
    return helps, floor


async def test_scale(
    synapse: LocalSynapse,
    tmp_path: Path,
    clients: ClientFactory,
    bot_processes: BotProcesses,
    results: Results,
) -> None:
    count = size("ROOMS", 1000, 100)
    samples = size("HELP_SAMPLES", 20, 6)
    bot = bot_processes.track(BotProcess(synapse, tmp_path / "scalebot", "scalebot"))
    await bot.start()
    assert bot.proc is not None
    empty_rss, empty_hwm = process_memory(bot.proc.pid)
    token = json.loads((bot.data_dir / "session.json").read_text())["access_token"]

    quinn = await clients("quinn")
    paco = await clients("paco")
    (quiet,) = await rooms_with_bot(quinn, bot.user_id, 1, name="quiet")
    plain = await plain_room(quinn, [paco])
    organiser = await clients("organiser", sync=False)
    began = time.perf_counter()
    await bounded(
        (organiser.create_room(name=f"scale-{i}", invite=[bot.user_id]) for i in range(count)), 8
    )
    created = time.perf_counter() - began
    await wait_joined(synapse, token, count + 1, timeout=max(300.0, count * 1.0))
    joined = time.perf_counter() - began

    helps, floor = await help_round_trips(quinn, paco, quiet, plain, samples)
    rss, hwm = process_memory(bot.proc.pid)

    assert await bot.terminate() == 0
    db = Database(bot.data_dir / "liaison.db")
    since = inbox.get_state(db, "next_batch")
    db.close()
    assert since is not None
    # limits below the bot's own 100: no try is answered from another's (or the bot's) cache
    sync_floor = [await first_sync_floor(synapse, token, since, 99 - i) for i in range(3)]
    # a new BotProcess: the old one's output already holds a "ready" line
    bot = bot_processes.track(BotProcess(synapse, tmp_path / "scalebot", "scalebot"))
    began = time.perf_counter()
    await bot.start()
    ready = time.perf_counter() - began
    assert bot.proc is not None
    restarted_rss, restarted_hwm = process_memory(bot.proc.pid)
    helps_after, floor_after = await help_round_trips(quinn, paco, quiet, plain, samples)
    after_rss, after_hwm = process_memory(bot.proc.pid)
    assert await bot.terminate() == 0

    help_ratio = percentile(helps + helps_after, 50) / (2 * percentile(floor + floor_after, 50))
    peak = max(hwm, restarted_hwm, after_hwm)
    figure = results.figure(f"5. Scale ({count + 1} rooms joined)")
    figure.add(
        f"set-up: {count} rooms created in {created:.0f} s, all joined by the bot after {joined:.0f} s"
    )
    figure.add(
        f"restart-to-ready (SIGTERM, new process, first sync from the stored token): {ready:.2f} s; "
        f"for reference, a first sync asking for every room's full state (what a start without "
        f"the stored room state asks), as plain HTTP: {min(sync_floor):.2f} s (the first of "
        f"three, Synapse's caches cold: {sync_floor[0]:.2f} s)"
    )
    figure.add(
        f"memory: {rss:.0f} MB resident in {count + 1} rooms (peak {hwm:.0f} MB); after restart "
        f"{restarted_rss:.0f} MB, after !help {after_rss:.0f} MB (peak {max(restarted_hwm, after_hwm):.0f} MB); "
        f"floor, the bot in no room: {empty_rss:.0f} MB (peak {empty_hwm:.0f} MB)"
    )
    figure.add(f"!help round trip, quiet room: {spread(helps + helps_after)}")
    figure.add(f"floor, one hop: {spread(floor + floor_after)}")
    figure.add(f"help_p50 / (2 x floor_p50) = {help_ratio:.2f}")
    met = ready <= READY_TARGET and peak <= MEMORY_TARGET_MB
    figure.verdict(f"ready <= {READY_TARGET:g} s and peak memory <= {MEMORY_TARGET_MB:g} MB", met)
    sys.stdout.write("\n" + figure.text() + "\n")
    if strict():
        assert met, figure.text()
