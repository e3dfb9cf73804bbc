"""Answering invites: who may invite the bot, and a remote invite that arrives early."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.config import BotConfig
from bot.core.matrix import sync
from bot.core.matrix.client import MatrixError
from bot.core.matrix.sync import SyncLoop
from bot.core.tasks import TaskSpawner


class JoinRecorder:
    """A homeserver that refuses the first joins, as one that has not stored the invite yet."""

    def __init__(self, refusals: list[str]) -> None:
        self.refusals = refusals
        self.joins: list[str] = []
        self.rejected: list[str] = []

    async def join(self, room_id: str) -> str:
        self.joins.append(room_id)
        if self.refusals:
            code = self.refusals.pop(0)
            raise MatrixError(f"join failed: {code}", code)
        return room_id

    async def reject_invite(self, room_id: str) -> None:
        self.rejected.append(room_id)


def loop_with(matrix: Any, **config: Any) -> SyncLoop:
    async def nothing() -> None:
        return None

    return SyncLoop(matrix, None, TaskSpawner(), BotConfig(**config), on_first_sync=nothing)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync, "JOIN_RETRY_DELAYS", (0.0, 0.0, 0.0, 0.0))


async def test_a_remote_invite_refused_at_first_is_joined_on_a_later_try() -> None:
    matrix = JoinRecorder(["M_FORBIDDEN", "M_FORBIDDEN"])
    loop = loop_with(matrix, allowed_inviters=("tunis.example.net:8448",))
    await loop._answer_invite("!room", "@bob:tunis.example.net:8448")
    assert matrix.joins == ["!room", "!room", "!room"]
    assert matrix.refusals == []


async def test_joining_gives_up_after_a_few_refusals_and_on_other_errors() -> None:
    matrix = JoinRecorder(["M_FORBIDDEN"] * 10)
    loop = loop_with(matrix, allowed_inviters=("example.org",))
    await loop._answer_invite("!room", "@ana:example.org")
    assert len(matrix.joins) == len(sync.JOIN_RETRY_DELAYS) + 1

    other = JoinRecorder(["M_UNKNOWN"])
    await loop_with(other, allowed_inviters=("example.org",))._answer_invite("!r", "@a:example.org")
    assert other.joins == ["!r"]


async def test_invites_from_servers_not_listed_are_rejected() -> None:
    matrix = JoinRecorder([])
    loop = loop_with(matrix, allowed_inviters=("example.org",))
    await loop._answer_invite("!room", "@mallory:elsewhere.example")
    assert matrix.joins == []
    assert matrix.rejected == ["!room"]
