"""Benchmark fixtures: the figures of the run, measuring clients, the bot as a process.

The session ``synapse`` (rate limits lifted) and ``apertium`` come from ``tests/conftest.py``.
"""

from __future__ import annotations

import compileall
import contextlib
import itertools
import sys
from collections.abc import AsyncIterator, Iterator
from importlib import metadata
from pathlib import Path

import pytest

from bot.dev.devserver.synapse import LocalSynapse
from tests.benchmarks.measure import Results
from tests.benchmarks.rawclient import RawClient
from tests.support.botprocess import BotProcess

_clients = itertools.count(1)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def installed_bytecode() -> None:
    """The bot's modules compiled once, as ``pip install`` leaves them: a start-up measured
    here must not include compiling them from source at every start (which a machine with
    PYTHONDONTWRITEBYTECODE set would do)."""
    for package in ("bot", "commands"):
        compileall.compile_dir(ROOT / package, quiet=1)


@pytest.fixture(scope="session")
def results() -> Iterator[Results]:
    """Every benchmark adds its figures; the run is written on top of RESULTS.md at the end."""
    collected = Results()
    with contextlib.suppress(metadata.PackageNotFoundError):
        collected.synapse_version = metadata.version("matrix-synapse")
    yield collected
    written = collected.write()
    summary = "\n\n".join(f.text() for f in collected.figures)
    if summary:
        where = f"(written to {written})" if written else "(not written)"
        sys.stdout.write(f"\n\n===== benchmark figures {where}\n{summary}\n")


class ClientFactory:
    """Measuring clients with names unique to the run, closed at the end of the test."""

    def __init__(self, hs: LocalSynapse) -> None:
        self.hs = hs
        self.made: list[RawClient] = []

    async def __call__(self, name: str, *, sync: bool = True) -> RawClient:
        client = await RawClient.login(self.hs, f"{name}{next(_clients)}")
        self.made.append(client)
        if sync:
            await client.start()
        return client


@pytest.fixture
async def clients(synapse: LocalSynapse) -> AsyncIterator[ClientFactory]:
    factory = ClientFactory(synapse)
    yield factory
    for client in factory.made:
        await client.close()


class BotProcesses:
    """Bot processes started by a test; any still running at its end is killed."""

    def __init__(self) -> None:
        self.started: list[BotProcess] = []

    def track(self, bot: BotProcess) -> BotProcess:
        self.started.append(bot)
        return bot


@pytest.fixture
async def bot_processes() -> AsyncIterator[BotProcesses]:
    tracker = BotProcesses()
    yield tracker
    for bot in tracker.started:
        if bot.proc is not None:
            await bot.kill()
