"""Session fixtures: one real Synapse for the whole run, a fresh bot account per test.

The session's Synapse federates: tests about rooms and members on another homeserver ask for
``remote_synapse`` (a second Synapse, started once, only when a test needs it) and
``remote_member``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.core.storage.database import Database
from bot.dev.devserver.apertium import LocalApertium
from bot.dev.devserver.synapse import LocalSynapse
from bot.dev.devserver.tls import LocalCA
from tests.support.botharness import BotHarness
from tests.support.i18n import english_leaks
from tests.support.members import Member
from tests.support.schema import ALL_MIGRATIONS


@pytest.fixture(scope="session")
def federation_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    """The run's throwaway certificate authority: every test homeserver trusts it."""
    return LocalCA.create(tmp_path_factory.mktemp("federation-ca"))


@pytest.fixture(scope="session")
async def synapse(
    tmp_path_factory: pytest.TempPathFactory, federation_ca: LocalCA
) -> AsyncIterator[LocalSynapse]:
    hs = LocalSynapse(tmp_path_factory.mktemp("synapse"), federation=federation_ca)
    await hs.start()
    yield hs
    await hs.stop()


@pytest.fixture(scope="session")
async def remote_synapse(
    synapse: LocalSynapse, tmp_path_factory: pytest.TempPathFactory, federation_ca: LocalCA
) -> AsyncIterator[LocalSynapse]:
    """A second homeserver federating with the first; started for the tests that ask for it."""
    hs = LocalSynapse(tmp_path_factory.mktemp("remote-synapse"), federation=federation_ca)
    await hs.start()
    yield hs
    await hs.stop()


@pytest.fixture
async def bot(synapse: LocalSynapse, tmp_path: Path) -> AsyncIterator[BotHarness]:
    harness = BotHarness(synapse, tmp_path / "bot")
    yield harness
    await harness.stop()


class MemberFactory:
    """Creates member accounts with names unique to the run (one Synapse serves every test)."""

    def __init__(self, hs: LocalSynapse, store_root: Path) -> None:
        self.hs = hs
        self.store_root = store_root
        self.created: list[Member] = []

    async def __call__(self, name: str, *, encryption: bool = False) -> Member:
        localpart = f"{name}{next(_member_ids)}"
        member = await Member.create(
            self.hs, localpart, encryption=encryption, store_dir=self.store_root / localpart
        )
        self.created.append(member)
        return member


_member_ids = itertools.count(1)


@pytest.fixture
async def new_member(synapse: LocalSynapse, tmp_path: Path) -> AsyncIterator[MemberFactory]:
    factory = MemberFactory(synapse, tmp_path / "members")
    yield factory
    leaks: list[str] = []
    for member in factory.created:
        for room_id in member.rooms_seen():
            leaks.extend(english_leaks(member.events(room_id)))
        await member.close()
    # every reply the members of a test read is checked: no English frame in a translated room
    assert not leaks, "English reached a translated room:\n" + "\n".join(sorted(set(leaks)))


class _EnglishFallbacks(logging.Handler):
    """Catalog misses: a bot in this process wrote English to a translated room."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "has no translation for" in record.getMessage():
            self.seen.append(record.getMessage())


@pytest.fixture(autouse=True)
def no_english_in_translated_rooms(request: pytest.FixtureRequest) -> Iterator[None]:
    """An integration test fails when the bot had no translation for something it said in a
    French, Spanish or Arabic room (besides the check of what members read, in
    ``new_member``); unit tests of the fallback itself are left alone."""
    if request.node.get_closest_marker("integration") is None:
        yield
        return
    handler = _EnglishFallbacks()
    logger = logging.getLogger("bot.core.i18n")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    assert handler.seen == [], "\n".join(handler.seen)


@pytest.fixture
async def remote_member(
    remote_synapse: LocalSynapse, tmp_path: Path
) -> AsyncIterator[MemberFactory]:
    """Members with accounts on the second homeserver."""
    factory = MemberFactory(remote_synapse, tmp_path / "remote-members")
    yield factory
    for member in factory.created:
        await member.close()


@pytest.fixture
def fresh_db() -> Database:
    db = Database(":memory:")
    db.migrate(ALL_MIGRATIONS)
    return db


@pytest.fixture(scope="session")
async def apertium() -> AsyncIterator[LocalApertium]:
    """The real offline translator (Debian's apertium-apy), one for the whole run."""
    apy = LocalApertium()
    await apy.start()
    yield apy
    await apy.stop()
