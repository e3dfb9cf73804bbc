"""Liaison and its reference relays side by side on one homeserver, measured in turn.

Each relay gets its own rooms (a French source room and its target rooms) with the same two
members: ``sender`` writes in the source room, ``observer`` times the copies. Samples of the
relays alternate (the order turns every round), so load from elsewhere hits all alike.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.dev.devserver.apertium import LocalApertium
from bot.dev.devserver.synapse import LocalSynapse
from tests.benchmarks.conftest import BotProcesses
from tests.benchmarks.measure import percentile, spread
from tests.benchmarks.peer import translate_direct
from tests.benchmarks.rawclient import RawClient
from tests.benchmarks.scenario import (
    Peer,
    bounded,
    joined_by,
    link,
    relay_bot,
    rooms_for,
    rooms_with_bot,
)
from tests.support.botprocess import BotProcess

SOURCE_LANGUAGE = "fr"


@dataclass
class Relayed:
    """One relay's rooms and what was measured through it."""

    kind: str
    source: str
    targets: dict[str, str]  # room -> language
    every: list[float] = field(default_factory=list)  # each copy, send -> seen
    last: list[float] = field(default_factory=list)  # the last copy of each message


@dataclass
class Side:
    """Everything one comparison needs; ``stop`` ends the processes it started."""

    sender: RawClient
    observer: RawClient
    relays: dict[str, Relayed]
    bot: BotProcess
    peers: list[Peer]
    apertium: str

    async def sample(self, kind: str, text: str) -> None:
        relayed = self.relays[kind]
        event_id, began = await self.sender.send(relayed.source, text)
        seen = await self.observer.copies_seen(event_id, relayed.targets, timeout=120)
        relayed.every.extend(at - began for at in seen.values())
        relayed.last.append(max(seen.values()) - began)

    async def round(self, index: int, text: str, kinds: Sequence[str]) -> None:
        """One sample of each relay, in an order that turns with ``index``."""
        turn = index % len(kinds)
        for kind in [*kinds[turn:], *kinds[:turn]]:
            await self.sample(kind, text)

    def restart_figures(self) -> None:
        """Forget what was measured so far (a warm-up, another case)."""
        self.relays = {k: Relayed(k, r.source, r.targets) for k, r in self.relays.items()}

    async def stop(self) -> None:
        for peer in self.peers:
            await peer.stop()
        assert await self.bot.terminate() == 0


async def translations(
    apertium: str, texts: Sequence[str], languages: Sequence[str], source: str = SOURCE_LANGUAGE
) -> dict[str, dict[str, str]]:
    """Every text in every language, asked of APY directly (what the ideal relay sends)."""
    async with aiohttp.ClientSession() as http:

        async def one(text: str) -> tuple[str, dict[str, str]]:
            done = {}
            for lang in languages:
                done[lang] = await translate_direct(http, apertium, text, source, lang)
            return text, done

        return dict(await bounded((one(t) for t in dict.fromkeys(texts)), 4))


async def slowest_target(
    apertium: str, http: aiohttp.ClientSession, text: str, languages: Sequence[str]
) -> float:
    """The time APY alone takes for the slowest target of ``text`` (all asked at once)."""

    async def one(lang: str) -> float:
        began = time.perf_counter()
        await translate_direct(http, apertium, text, SOURCE_LANGUAGE, lang)
        return time.perf_counter() - began

    return max(await asyncio.gather(*(one(lang) for lang in languages)))


async def side_by_side(
    synapse: LocalSynapse,
    apertium: LocalApertium,
    workdir: Path,
    clients: object,
    bot_processes: BotProcesses,
    *,
    languages: Sequence[str],
    texts: Sequence[str],
    kinds: Sequence[str] = ("ideal", "liaison", "naive"),
    name: str,
    bot_sections: dict[str, dict[str, object]] | None = None,
) -> Side:
    """Liaison (the real CLI) and the peers in ``kinds``, each with a source room and one
    target room per entry of ``languages``; the peers know the copies of ``texts``."""
    make = clients  # a ClientFactory; typed loosely to keep conftest imports one way
    sender: RawClient = await make("sender")  # type: ignore[operator]
    observer: RawClient = await make("observer")  # type: ignore[operator]
    bot = bot_processes.track(relay_bot(synapse, workdir, apertium.url, **(bot_sections or {})))
    await bot.start()
    count = 1 + len(languages)
    relays: dict[str, Relayed] = {}
    rooms = await rooms_with_bot(sender, bot.user_id, count, members=[observer], name=name)
    await link(sender, list(zip(rooms, [SOURCE_LANGUAGE, *languages], strict=True)), name)
    relays["liaison"] = Relayed("liaison", rooms[0], dict(zip(rooms[1:], languages, strict=True)))
    copies = await translations(apertium.url, texts, sorted(set(languages)))
    peers: list[Peer] = []
    for kind in kinds:
        if kind == "liaison":
            continue
        peer = Peer(synapse, workdir, kind)
        await peer.register()
        rooms = await rooms_for(
            sender, peer.user_id, count, members=[observer], name=f"{name}{kind}"
        )
        targets = dict(zip(rooms[1:], languages, strict=True))
        await peer.start(
            {rooms[0]: targets},
            {rooms[0]: SOURCE_LANGUAGE, **targets},
            copies=copies,
            apertium=apertium.url,
        )
        peers.append(peer)
        await joined_by(sender, rooms, peer.user_id)
        relays[kind] = Relayed(kind, rooms[0], targets)
    return Side(sender, observer, relays, bot, peers, apertium.url)


def ratio_line(relays: dict[str, Relayed], floor: float, what: str = "every") -> list[str]:
    """Each relay's spread, its p50/p90 as a ratio to the ideal relay, and to the floor."""
    ideal = getattr(relays["ideal"], what)
    lines = []
    for kind, relayed in relays.items():
        values = getattr(relayed, what)
        lines.append(
            f"{kind}: {spread(values)}; x ideal p50 {percentile(values, 50) / percentile(ideal, 50):.2f}"
            f" p90 {percentile(values, 90) / percentile(ideal, 90):.2f};"
            f" x two-hop floor p50 {percentile(values, 50) / floor:.2f}"
        )
    return lines
