"""No reply quotes more than a short excerpt of what a member typed.

Every declared command gets very long words in every position (arguments, form parts, form
fields). A reply that changed nothing (a refusal, a usage error, an unknown command, a search
that found nothing) may contain at most about 64 characters of them; a reply that confirms
what was stored shows what was stored.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.matrix.intake import IncomingEvent
from bot.core.text.echo import ECHO_LIMIT
from tests.fuzz.test_command_fuzz import ADMIN, MEMBER, ROOM, build_app, snapshot
from tests.support.families import declared_families

# a word nothing the bot says contains, long enough to notice any echo
UNIT = "q7"
LONG = UNIT * 500  # 1,000 characters: far beyond any excerpt
RUN = re.compile(f"(?:{UNIT})+")


def shapes(words: str) -> Iterator[str]:
    yield f"{words} {LONG}"
    yield f"{words} a {LONG}"
    yield f"{words} a b {LONG}"
    yield f"{words} {LONG} | {LONG} | {LONG} | kind: {LONG}"
    yield f"{words}\n{LONG}\nwhen: {LONG}\nplace: {LONG}\ndescription: {LONG}"


def command_texts() -> Iterator[str]:
    yield "!" + LONG
    for family in declared_families():
        yield f"!{family.name} {LONG}"
        for verb in family.commands:
            yield from shapes(f"!{family.name} {verb}" if verb else f"!{family.name}")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    built, fake = build_app(tmp_path_factory.mktemp("echoes"))
    yield built, fake
    built.db.close()


def test_no_reply_quotes_more_than_a_short_excerpt(app: Any) -> None:
    built, fake = app

    async def run() -> list[tuple[str, int]]:
        # a linked room reaches the relay's deeper refusals
        await built.router(event("!relay link echoes fr", ADMIN, 0))
        long_echoes = []
        for n, text in enumerate(command_texts(), start=1):
            for sender in (ADMIN, MEMBER):
                before, stored = len(fake.sent), snapshot(built)
                await built.router(event(text, sender, n * 2 + (sender == MEMBER)))
                if snapshot(built) != stored:
                    continue  # a confirmation shows what was stored (e.g. a new place's card)
                for sent in fake.sent[before:]:
                    body = str(sent.content.get("body", ""))
                    longest = max((len(m) for m in RUN.findall(body)), default=0)
                    if longest > ECHO_LIMIT:
                        long_echoes.append((text[:60], longest))
        return long_echoes

    assert asyncio.run(run()) == []


def event(text: str, sender: str, n: int) -> IncomingEvent:
    return IncomingEvent.from_source(
        ROOM,
        {
            "event_id": f"$echo{n}",
            "sender": sender,
            "type": "m.room.message",
            "origin_server_ts": 1,
            "content": {"msgtype": "m.text", "body": text},
        },
    )


def test_the_probe_would_notice_an_echo(tmp_path: Path) -> None:
    """The check itself: a reply repeating the whole word is caught."""
    body = f"I don't know {LONG[:200]}"
    assert max(len(m) for m in RUN.findall(body)) > ECHO_LIMIT
