"""A lean Matrix client for measuring: plain HTTP, and the moment each event reached its sync.

The benchmarks time what a member would see, so the clients on the measuring side must add as
little as possible of their own: no nio, no state tracking, one long-polling sync loop that
stamps every timeline event with ``time.perf_counter()`` when its response arrives. The same
client takes the floor and the bot's figures, so whatever it costs is in both.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.core.matrix.client import LIAISON_KEY
from bot.dev.devserver.synapse import LocalSynapse
from tests.support.members import password_for

log = logging.getLogger(__name__)
# a backoff after a failed sync, not a way to wait for events
SYNC_RETRY_DELAY = 0.2

API = "/_matrix/client/v3"
SYNC_FILTER = json.dumps(
    {
        "presence": {"types": []},
        "account_data": {"types": []},
        "room": {
            "timeline": {"limit": 500},
            "state": {"types": []},
            "ephemeral": {"types": []},
            "account_data": {"types": []},
        },
    }
)
_txn = itertools.count(1)


@dataclass(frozen=True)
class Arrival:
    """A timeline event and when this client's sync delivered it."""

    room_id: str
    event: dict[str, Any]
    at: float
    wall_ms: float  # the same moment on the homeserver's clock (origin_server_ts is in ms)

    @property
    def event_id(self) -> str:
        return str(self.event.get("event_id"))

    @property
    def stamp_ms(self) -> float:
        """When the homeserver accepted the event (its ``origin_server_ts``)."""
        return float(self.event.get("origin_server_ts") or 0)

    @property
    def source(self) -> str | None:
        """For a relayed copy: the event it copies."""
        marker = self.event.get("content", {}).get(LIAISON_KEY)
        return marker.get("source") if isinstance(marker, dict) else None


class RawClient:
    """One logged-in account speaking the client-server API directly."""

    def __init__(self, hs: LocalSynapse, user_id: str, token: str) -> None:
        self.hs = hs
        self.user_id = user_id
        self.token = token
        self._http = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {token}"},
            connector=aiohttp.TCPConnector(limit=200),
            timeout=aiohttp.ClientTimeout(total=120),
        )
        self.by_id: dict[str, Arrival] = {}
        self.timelines: dict[str, list[Arrival]] = {}
        self.copies: dict[tuple[str, str], list[Arrival]] = {}
        self._changed = asyncio.Condition()
        self._since: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._synced = asyncio.Event()
        self.gaps = 0

    @classmethod
    async def login(cls, hs: LocalSynapse, localpart: str, *, admin: bool = False) -> RawClient:
        """Register (an existing account is fine) and log in a new device."""
        password = password_for(localpart)
        user_id = await hs.register(localpart, password, admin=admin)
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": password,
            "initial_device_display_name": f"bench-{localpart}",
        }
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{hs.url}{API}/login", json=body) as resp,
        ):
            data = await resp.json()
            if resp.status != 200:
                raise AssertionError(f"login of {localpart} failed: {resp.status} {data}")
        return cls(hs, user_id, str(data["access_token"]))

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._http.close()

    # ---- requests ---------------------------------------------------------------------------

    async def request(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        """One API call; waits out a 429 (the benchmark homeserver's limits are lifted anyway)."""
        url = f"{self.hs.url}{API}{path}"
        while True:
            async with self._http.request(method, url, json=body, params=params or None) as resp:
                data = await resp.json(content_type=None)
                if resp.status == 429:
                    await asyncio.sleep(int(data.get("retry_after_ms", 200)) / 1000)
                    continue
                if resp.status != 200:
                    raise AssertionError(f"{method} {path}: {resp.status} {data}")
                return data

    async def create_room(self, *, name: str | None = None, invite: Iterable[str] = ()) -> str:
        body: dict[str, Any] = {"preset": "private_chat", "invite": list(invite)}
        if name:
            body["name"] = name
        data = await self.request("POST", "/createRoom", body)
        return str(data["room_id"])

    async def join(self, room_id: str) -> None:
        await self.request("POST", f"/join/{quote(room_id, safe='')}", {})

    async def send(
        self, room_id: str, body: str, *, extra: dict[str, Any] | None = None
    ) -> tuple[str, float]:
        """Send a text; return its event id and the ``perf_counter`` just before the request."""
        content: dict[str, Any] = {"msgtype": "m.text", "body": body, **(extra or {})}
        txn = f"bench{time.time_ns()}.{next(_txn)}"
        path = f"/rooms/{quote(room_id, safe='')}/send/m.room.message/{txn}"
        began = time.perf_counter()
        data = await self.request("PUT", path, content)
        return str(data["event_id"]), began

    # ---- sync -------------------------------------------------------------------------------

    async def start(self, timeout: float = 60) -> None:  # noqa: ASYNC109
        """Start the sync loop; return after its first (initial) sync."""
        if self._task is None:
            self._task = asyncio.create_task(self._sync_loop(), name=f"sync {self.user_id}")
        await asyncio.wait_for(self._synced.wait(), timeout)

    async def _sync_loop(self) -> None:
        while True:
            params = {"filter": SYNC_FILTER, "timeout": "30000" if self._since else "0"}
            if self._since:
                params["since"] = self._since
            try:
                data = await self.request("GET", "/sync", **params)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s: sync failed: %r", self.user_id, exc)
                await asyncio.sleep(SYNC_RETRY_DELAY)
                continue
            at, wall_ms = time.perf_counter(), time.time() * 1000
            await self._ingest(data, at, wall_ms)

    async def _ingest(self, data: dict[str, Any], at: float, wall_ms: float) -> None:
        since = self._since
        batch: list[tuple[str, list[dict[str, Any]]]] = []
        for room_id, info in data.get("rooms", {}).get("join", {}).items():
            timeline = info.get("timeline", {})
            events = list(timeline.get("events", []))
            if timeline.get("limited") and since is not None and timeline.get("prev_batch"):
                # a burst longer than the filter's limit: fetch the gap, so nothing is missed
                self.gaps += 1
                events = await self._backfill(room_id, timeline["prev_batch"], since) + events
            batch.append((room_id, events))
        async with self._changed:
            for room_id, events in batch:
                timeline_list = self.timelines.setdefault(room_id, [])
                for event in events:
                    event_id = event.get("event_id")
                    if not isinstance(event_id, str) or event_id in self.by_id:
                        continue
                    arrival = Arrival(room_id, event, at, wall_ms)
                    self.by_id[event_id] = arrival
                    timeline_list.append(arrival)
                    source = arrival.source
                    if source is not None and event.get("type") == "m.room.message":
                        self.copies.setdefault((source, room_id), []).append(arrival)
            self._since = str(data["next_batch"])
            self._synced.set()
            self._changed.notify_all()

    async def _backfill(self, room_id: str, start: str, since: str) -> list[dict[str, Any]]:
        collected: list[dict[str, Any]] = []
        path = f"/rooms/{quote(room_id, safe='')}/messages"
        while True:
            data = await self.request(
                "GET", path, dir="b", limit="500", to=since, **{"from": start}
            )
            chunk = data.get("chunk", [])
            collected.extend(chunk)
            end = data.get("end")
            if not chunk or not end or end == start:
                break
            start = end
        collected.reverse()
        return collected

    async def until(self, check: Callable[[], bool], timeout: float, what: str) -> None:  # noqa: ASYNC109
        """Wait until ``check()`` holds after some sync, or fail naming ``what``."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(check), timeout)
            except TimeoutError:
                raise AssertionError(f"{self.user_id}: no {what} within {timeout} s") from None

    async def seen(self, event_id: str, timeout: float = 30) -> float:  # noqa: ASYNC109
        """When this client's sync delivered ``event_id``."""
        await self.until(lambda: event_id in self.by_id, timeout, f"event {event_id}")
        return self.by_id[event_id].at

    async def copies_seen(
        self,
        source_id: str,
        rooms: Iterable[str],
        timeout: float = 60,  # noqa: ASYNC109
    ) -> dict[str, float]:
        """When the relayed copy of ``source_id`` arrived in each of ``rooms``."""
        wanted = list(rooms)
        await self.until(
            lambda: all((source_id, room) in self.copies for room in wanted),
            timeout,
            f"copies of {source_id} in {len(wanted)} room(s)",
        )
        return {room: self.copies[(source_id, room)][0].at for room in wanted}

    async def joined(self, room_id: str, user_id: str, timeout: float = 60) -> None:  # noqa: ASYNC109
        def check() -> bool:
            return any(
                a.event.get("type") == "m.room.member"
                and a.event.get("state_key") == user_id
                and a.event.get("content", {}).get("membership") == "join"
                for a in self.timelines.get(room_id, ())
            )

        await self.until(check, timeout, f"join of {user_id} in {room_id}")

    async def command(self, room_id: str, text: str, timeout: float = 30) -> tuple[str, float]:  # noqa: ASYNC109
        """Send a command; return the bot's answer and the round trip in seconds."""
        event_id, began = await self.send(room_id, text)

        def answer() -> Arrival | None:
            for arrival in reversed(self.timelines.get(room_id, ())):
                relates = arrival.event.get("content", {}).get("m.relates_to", {})
                if relates.get("m.in_reply_to", {}).get("event_id") == event_id:
                    return arrival
            return None

        await self.until(lambda: answer() is not None, timeout, f"answer to {text!r}")
        found = answer()
        assert found is not None
        return str(found.event.get("content", {}).get("body", "")), found.at - began
