"""Set-up shared by the benchmarks: the bot as a process, linked rooms, texts, the one-hop floor."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bot.dev.devserver.synapse import LocalSynapse
from tests.benchmarks.rawclient import RawClient
from tests.support.botprocess import BotProcess
from tests.support.members import password_for

_bots = itertools.count(1)

_SUBJECTS = {
    "fr": (
        "Le marché", "La réunion", "L'assemblée", "La cantine", "Le comité",
        "La bibliothèque", "Le jardin", "La coopérative", "L'atelier", "La permanence",
    ),
    "es": (
        "El mercado", "La reunión", "La asamblea", "El comedor", "El comité",
        "La biblioteca", "El huerto", "La cooperativa", "El taller", "La guardia",
    ),
    "en": (
        "The market", "The meeting", "The assembly", "The canteen", "The committee",
        "The library", "The garden", "The cooperative", "The workshop", "The help desk",
    ),
}  # fmt: skip
_PREDICATES = {
    "fr": (
        "commence à midi", "a besoin de bénévoles", "se tient demain soir",
        "ouvre ses portes samedi", "cherche des volontaires pour la cuisine",
    ),
    "es": (
        "empieza a mediodía", "necesita voluntarios", "se celebra mañana por la tarde",
        "abre sus puertas el sábado", "busca voluntarios para la cocina",
    ),
    "en": (
        "starts at noon", "needs volunteers", "takes place tomorrow evening",
        "opens its doors on Saturday", "is looking for volunteers for the kitchen",
    ),
}  # fmt: skip
_ENDINGS = {
    "fr": ("", " Merci à toutes et à tous.", " Venez nombreux.", " Faites passer le mot."),
    "es": ("", " Gracias a todas y todos.", " Venid muchos.", " Pasad la voz."),
    "en": ("", " Thanks everyone.", " Come along.", " Spread the word."),
}


def texts(language: str, count: int) -> list[str]:
    """``count`` distinct everyday sentences in ``language`` (fr, es or en), up to 200."""
    made = [
        f"{subject} {predicate}.{ending}"
        for ending in _ENDINGS[language]
        for subject in _SUBJECTS[language]
        for predicate in _PREDICATES[language]
    ]
    if count > len(made):
        raise ValueError(f"only {len(made)} distinct {language} texts")
    return made[:count]


def relay_bot(hs: LocalSynapse, workdir: Path, apertium_url: str, **sections: Any) -> BotProcess:
    """The real CLI in its own process, translating with Apertium, as an operator runs it."""
    translation = {"engines": ["apertium"], "apertium": {"url": apertium_url}}
    translation.update(sections.pop("translation", {}))
    localpart = f"benchbot{next(_bots)}"
    return BotProcess(hs, workdir / localpart, localpart, translation=translation, **sections)


async def bounded(jobs: Iterable[Any], limit: int) -> list[Any]:
    """Await coroutines at most ``limit`` at a time, results in order."""
    semaphore = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with semaphore:
            return await job

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def rooms_with_bot(
    creator: RawClient,
    bot_user_id: str,
    count: int,
    *,
    members: Sequence[RawClient] = (),
    name: str = "bench",
    concurrency: int = 8,
) -> list[str]:
    """Rooms made by ``creator`` with the bot (and ``members``) joined in each."""

    async def one(index: int) -> str:
        room = await creator.create_room(
            name=f"{name}-{index}", invite=[bot_user_id, *(m.user_id for m in members)]
        )
        for member in members:
            await member.join(room)
        return room

    rooms = await bounded((one(i) for i in range(count)), concurrency)
    for room in rooms:
        await creator.joined(room, bot_user_id)
        for member in members:
            await creator.joined(room, member.user_id)
    return rooms


async def plain_room(creator: RawClient, members: Sequence[RawClient], name: str = "plain") -> str:
    """A room of plain clients only, for the floor."""
    room = await creator.create_room(name=name, invite=[m.user_id for m in members])
    for member in members:
        await member.join(room)
        await creator.joined(room, member.user_id)
    return room


async def link(creator: RawClient, rooms: Iterable[tuple[str, str]], group: str) -> None:
    """``!relay link <group> <lang>`` in each (room, language), sent by the room's creator."""

    async def one(room: str, lang: str) -> None:
        answer, _ = await creator.command(room, f"!relay link {group} {lang}")
        if f"`{group}`" not in answer:
            raise AssertionError(f"linking {room} as {lang} failed: {answer}")

    await asyncio.gather(*(one(room, lang) for room, lang in rooms))


async def one_hop(sender: RawClient, observer: RawClient, room_id: str, text: str) -> float:
    """The floor: one plain client's message until another client's sync delivers it."""
    event_id, began = await sender.send(room_id, text)
    return await observer.seen(event_id) - began


class Peer:
    """A reference relay (``tests/benchmarks/peer.py``) in a process of its own."""

    def __init__(self, hs: LocalSynapse, workdir: Path, mode: str) -> None:
        self.hs = hs
        self.mode = mode
        self.localpart = f"peer{mode}{next(_bots)}"
        self.workdir = workdir / self.localpart
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def user_id(self) -> str:
        return self.hs.user_id(self.localpart)

    async def register(self) -> None:
        await self.hs.register(self.localpart, password_for(self.localpart))

    async def start(
        self,
        routes: dict[str, dict[str, str]],
        languages: dict[str, str],
        *,
        copies: dict[str, dict[str, str]] | None = None,
        apertium: str = "",
        timeout: float = 60,  # noqa: ASYNC109
    ) -> None:
        """Start relaying ``routes`` (source room -> {target room: language})."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        plan = {
            "mode": self.mode,
            "homeserver": self.hs.url,
            "user_id": self.user_id,
            "password": password_for(self.localpart),
            "routes": routes,
            "languages": languages,
            "copies": copies or {},
            "apertium": apertium,
        }
        path = self.workdir / "plan.json"
        path.write_text(json.dumps(plan), encoding="utf-8")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.benchmarks.peer", str(path),
            stdout=asyncio.subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if line.strip() != b"ready":
            raise AssertionError(f"the {self.mode} relay did not start: {line!r}")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self.proc = None


async def rooms_for(
    creator: RawClient,
    relay_user: str,
    count: int,
    *,
    members: Sequence[RawClient] = (),
    name: str = "bench",
) -> list[str]:
    """Rooms made by ``creator`` with ``members`` joined and the relay invited (not awaited)."""

    async def one(index: int) -> str:
        room = await creator.create_room(
            name=f"{name}-{index}", invite=[relay_user, *(m.user_id for m in members)]
        )
        for member in members:
            await member.join(room)
        return room

    return await bounded((one(i) for i in range(count)), 8)


async def joined_by(creator: RawClient, rooms: Iterable[str], user_id: str) -> None:
    for room in rooms:
        await creator.joined(room, user_id)


def unique_texts(
    language: str, count: int, *, avoid: Iterable[str] = (), seed: int = 0
) -> list[str]:
    """``count`` texts never seen before in the run: 1, 2 or 3 sentences drawn at random."""
    pool = texts(language, 200)
    rng = random.Random(seed)
    seen = set(avoid)
    made: list[str] = []
    while len(made) < count:
        text = " ".join(rng.sample(pool, 1 + len(made) % 3))
        if text not in seen:
            seen.add(text)
            made.append(text)
    return made


def long_texts(language: str, count: int, length: int = 1500, *, seed: int = 0) -> list[str]:
    """``count`` distinct texts of nearly ``length`` characters (whole sentences)."""
    pool = texts(language, 200)
    made: list[str] = []
    for index in range(count):
        rng = random.Random(seed * 1000 + index)
        parts: list[str] = []
        for sentence in rng.sample(pool, len(pool)):
            if len(" ".join([*parts, sentence])) > length:
                break
            parts.append(sentence)
        made.append(" ".join(parts))
    return made
