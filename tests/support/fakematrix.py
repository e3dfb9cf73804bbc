"""A stand-in for the Matrix client in pure-logic tests (the real one is tested against Synapse)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from bot.core.matrix.client import SendStats


@dataclass
class SentEvent:
    room_id: str
    content: dict[str, Any]
    txn_id: str
    event_type: str
    event_id: str


@dataclass
class FakeMatrix:
    user_id: str = "@liaison:test"
    power: dict[tuple[str, str], int] = field(default_factory=dict)
    sent: list[SentEvent] = field(default_factory=list)
    uploads: list[tuple[str, bytes]] = field(default_factory=list)
    stats: SendStats = field(default_factory=SendStats)
    connected: bool = True
    last_sync_at: float | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]
    _by_txn: dict[str, str] = field(default_factory=dict)
    direct_rooms: list[tuple[str, str, str | None]] = field(default_factory=list)
    room_members: dict[str, list[str]] = field(default_factory=dict)  # default: the bot alone
    names: dict[str, str] = field(default_factory=dict)  # display names; default: the user id
    encrypted: set[str] = field(default_factory=set)  # rooms with encryption on

    async def send(
        self,
        room_id: str,
        content: dict[str, Any],
        *,
        txn_id: str,
        event_type: str = "m.room.message",
    ) -> str:
        if txn_id in self._by_txn:  # the homeserver's idempotence
            return self._by_txn[txn_id]
        event_id = f"$fake{next(self._ids)}"
        self._by_txn[txn_id] = event_id
        self.sent.append(SentEvent(room_id, content, txn_id, event_type, event_id))
        return event_id

    def enqueue(
        self,
        room_id: str,
        content: dict[str, Any] | Awaitable[dict[str, Any] | None],
        *,
        txn_id: str,
        event_type: str = "m.room.message",
    ) -> asyncio.Future[str | None]:
        async def deliver() -> str | None:
            resolved = content if isinstance(content, dict) else await content
            if resolved is None:
                return None
            return await self.send(room_id, resolved, txn_id=txn_id, event_type=event_type)

        return asyncio.ensure_future(deliver())

    async def redact(
        self, room_id: str, event_id: str, *, txn_id: str, reason: str | None = None
    ) -> None:
        await self.send(
            room_id, {"redacts": event_id}, txn_id=txn_id, event_type="m.room.redaction"
        )

    async def upload(self, data: bytes, content_type: str, filename: str) -> str:
        self.uploads.append((filename, data))
        return f"mxc://test/{len(self.uploads)}"

    async def upload_encrypted(
        self, data: bytes, content_type: str, filename: str
    ) -> dict[str, Any]:
        self.uploads.append((filename, data))
        return {
            "url": f"mxc://test/{len(self.uploads)}",
            "key": {"k": "test"},
            "iv": "",
            "hashes": {},
        }

    def power_level(self, room_id: str, user_id: str) -> int:
        return self.power.get((room_id, user_id), 0)

    def can_notify_room(self, room_id: str, user_id: str) -> bool:
        return self.power_level(room_id, user_id) >= 50

    def display_name(self, room_id: str, user_id: str) -> str:
        return self.names.get(user_id, user_id)

    def room_name(self, room_id: str) -> str:
        return room_id

    def joined_room_ids(self) -> list[str]:
        return sorted({s.room_id for s in self.sent})

    def is_joined(self, room_id: str) -> bool:
        return True

    def is_encrypted(self, room_id: str) -> bool:
        return room_id in self.encrypted

    def members(self, room_id: str) -> list[str]:
        return self.room_members.get(room_id, [self.user_id])

    def queue_length(self) -> int:
        return 0

    async def join(self, room_id: str) -> None:
        return None

    async def leave(self, room_id: str) -> None:
        return None

    async def create_direct_room(self, user_id: str, name: str | None = None) -> str:
        room_id = f"!direct{len(self.direct_rooms) + 1}:test"
        self.direct_rooms.append((room_id, user_id, name))
        return room_id
