"""Generated commands for every family: nothing escapes, everything is answered, refusals change nothing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import Application
from bot.core.config import from_dict
from bot.core.matrix.intake import IncomingEvent
from tests.support.fakematrix import FakeMatrix
from tests.support.families import declared_families

ROOM = "!fuzz:test"
ADMIN = "@admin:test"
MEMBER = "@member:test"
REFUSALS = {"usage", "refused", "denied", "unknown"}
EXAMPLES = int(os.environ.get("LIAISON_FUZZ_EXAMPLES", "2000"))

WORDS = st.sampled_from(
    [
        "yes", "no", "maybe", "fr", "ar", "xx", "Europe/Paris", "Mars/Base", "today", "demain 18h",
        "every monday 18:00", "cron 0 18 * * 1", "cron 99 * * *", "2020-01-01", "2026-12-05 18:00",
        "network", "coordinators", "anonymous", "material", "ABCD", "42", "-1", "@room", "me",
        "confirm", "title: x", "start: hier", "\u202e", "\u200b", "<script>", "'", '"', "«", "”",
        "glossary", "add", "remove", "list", "all", "Berlin", "Tunis", "ملجأ", "Kurdî", "😀",
    ]
)  # fmt: skip
ARG = st.one_of(WORDS, st.text(min_size=0, max_size=20))


def build_app(tmp: Path) -> tuple[Application, FakeMatrix]:
    config = from_dict(
        {
            "matrix": {
                "homeserver": "http://127.0.0.1:1",
                "user_id": "@liaison:test",
                "password": "x",
            },
            "storage": {"data_dir": str(tmp)},
            # one sender types thousands of commands here: no per-sender limit
            "bot": {"admins": [ADMIN], "command_burst": 0},
            "translation": {"engines": []},
        },
        environ={},
    )
    fake = FakeMatrix()
    fake.power[(ROOM, ADMIN)] = 100
    app = Application(config, matrix=fake)  # type: ignore[arg-type]
    app.db.migrate(app.migrations)
    return app, fake


def snapshot(app: Application) -> list[str]:
    return [line for line in app.db.conn.iterdump() if "sqlite_sequence" not in line]


class FuzzTarget:
    """The bot's router with a real database and a recording Matrix stand-in."""

    def __init__(self, app: Application, fake: FakeMatrix) -> None:
        self.app = app
        self.fake = fake

    def __repr__(self) -> str:
        return "FuzzTarget()"


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    app, fake = build_app(tmp_path_factory.mktemp("fuzz"))
    yield FuzzTarget(app, fake)
    app.db.close()


def command_texts() -> st.SearchStrategy[str]:
    names: list[tuple[str, str | None]] = []
    for family in declared_families():
        names.append((family.name, None))
        names.extend((family.name, verb) for verb in family.commands if verb)
        names.extend((alias, None) for alias in family.all_aliases())
    head = st.one_of(st.sampled_from(names), st.tuples(st.text(min_size=1, max_size=8), st.none()))

    def render(parts: tuple[tuple[str, str | None], list[str], bool]) -> str:
        (family, verb), args, multiline = parts
        words = [family] + ([verb] if verb else []) + args
        separator = "\n" if multiline else " "
        return "!" + separator.join(w for w in words if w is not None)

    return st.tuples(head, st.lists(ARG, max_size=5), st.booleans()).map(render)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=command_texts(), sender=st.sampled_from([ADMIN, MEMBER]), n=st.integers(0, 10**9))
def test_every_generated_command_is_answered_and_refusals_change_nothing(
    fuzz_app: Any, text: str, sender: str, n: int
) -> None:
    app, fake = fuzz_app.app, fuzz_app.fake
    outcomes: list[str] = []
    app.router.on_command = lambda family, outcome, seconds: outcomes.append(outcome)
    event = IncomingEvent.from_source(
        ROOM,
        {
            "event_id": f"$cmd{n}-{len(fake.sent)}",
            "sender": sender,
            "type": "m.room.message",
            "origin_server_ts": 1,
            "content": {"msgtype": "m.text", "body": text},
        },
    )
    before_db = snapshot(app)
    before_sent = len(fake.sent)
    asyncio.run(app.router(event))
    if not outcomes:  # a documented silence: text that is not a command at all
        assert len(fake.sent) == before_sent
        return
    assert outcomes[0] != "error", f"{text!r} raised inside its handler"
    assert len(fake.sent) > before_sent, f"{text!r} got no reply"
    if outcomes[0] in REFUSALS:
        assert snapshot(app) == before_db, f"{text!r} was refused but changed the database"
