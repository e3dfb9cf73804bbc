"""Reference relays that Liaison is measured against, each a process of its own like the bot.

Run as ``python -m tests.benchmarks.peer PLAN.json``; it prints ``ready`` once its first sync
is done, then relays until killed. A plain matrix-nio client, no database, no checks:

- ``ideal``: on seeing a member's message in a source room, sends the copies it was given
  beforehand (the translations, looked up by text) into every target room at once. Nothing
  a relay can do is faster on this homeserver: what Liaison is compared with.
- ``queued``: the same, but each target room has its queue and its copies go out one after
  another, in the order the messages arrived: the ideal relay that keeps order, for bursts.
- ``naive``: translates each target in turn through Apertium's HTTP server (a pivot where
  there is no direct pair), then sends the copies at once: what a relay written without
  care does.

The plan file holds the homeserver, the account, the rooms (source room -> target rooms and
their languages), the copies by text, and the Apertium address.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from nio import AsyncClient, AsyncClientConfig, LoginResponse, RoomMessageText, SyncResponse

from bot.core.matrix.client import LIAISON_KEY

log = logging.getLogger(__name__)

# the bot's own sync filter, so both are served alike
SYNC_FILTER = {
    "presence": {"types": []},
    "account_data": {"types": []},
    "room": {"ephemeral": {"types": []}, "timeline": {"limit": 100}},
}
# Apertium's three-letter codes for the languages the benchmarks use
APY = {"fr": "fra", "es": "spa", "en": "eng", "pt": "por"}
# pairs the Debian packages install; any other goes through Spanish
DIRECT = {("fr", "es"), ("es", "fr"), ("es", "en"), ("en", "es"), ("es", "pt"), ("pt", "es")}


class PeerRelay:
    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.mode: str = plan["mode"]
        self.routes: dict[str, dict[str, str]] = plan["routes"]  # source -> {target: lang}
        self.languages: dict[str, str] = plan["languages"]  # room -> lang
        self.copies: dict[str, dict[str, str]] = plan.get("copies", {})  # text -> lang -> text
        self.apertium: str = plan.get("apertium", "")
        self.client = AsyncClient(
            plan["homeserver"],
            plan["user_id"],
            config=AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0),
        )
        self.queues: dict[str, asyncio.Queue[tuple[dict[str, Any], str]]] = {}
        self.http: aiohttp.ClientSession | None = None
        self.txn = 0

    async def run(self) -> None:
        response = await self.client.login(self.plan["password"])
        if not isinstance(response, LoginResponse):
            raise SystemExit(f"login failed: {response}")
        self.http = aiohttp.ClientSession()
        since: str | None = None
        first = True
        while True:
            sync = await self.client.sync(
                timeout=0 if first else 30000, since=since, sync_filter=SYNC_FILTER
            )
            if not isinstance(sync, SyncResponse):
                raise SystemExit(f"sync failed: {sync}")  # a reference must not stumble
            since = sync.next_batch
            for room_id in sync.rooms.invite:
                asyncio.get_running_loop().create_task(self.client.join(room_id))
            if first:
                first = False
                sys.stdout.write("ready\n")
                sys.stdout.flush()
                continue
            for room_id, info in sync.rooms.join.items():
                targets = self.routes.get(room_id)
                if not targets:
                    continue
                for event in info.timeline.events:
                    if (
                        isinstance(event, RoomMessageText)
                        and event.sender != self.client.user_id
                        and LIAISON_KEY not in event.source.get("content", {})
                    ):
                        self.on_message(room_id, event.event_id, event.body, targets)

    def on_message(self, room_id: str, event_id: str, text: str, targets: dict[str, str]) -> None:
        if self.mode == "queued":
            for target, lang in targets.items():
                self._queue(target).put_nowait((self.content(event_id, text, lang), target))
            return
        asyncio.get_running_loop().create_task(self.relay(room_id, event_id, text, targets))

    async def relay(self, room_id: str, event_id: str, text: str, targets: dict[str, str]) -> None:
        if self.mode == "naive":
            source = self.languages[room_id]
            translated = {}
            for target, lang in targets.items():
                translated[target] = await self.translate(text, source, lang)
            contents = {t: self.copy_content(event_id, translated[t]) for t in targets}
        else:
            contents = {t: self.content(event_id, text, lang) for t, lang in targets.items()}
        await asyncio.gather(*(self.send(t, c) for t, c in contents.items()))

    def content(self, event_id: str, text: str, lang: str) -> dict[str, Any]:
        return self.copy_content(event_id, self.copies.get(text, {}).get(lang, text))

    def copy_content(self, event_id: str, text: str) -> dict[str, Any]:
        return {
            "msgtype": "m.text",
            "body": text,
            "m.mentions": {},
            LIAISON_KEY: {"kind": "relay", "source": event_id},
        }

    def _queue(self, room_id: str) -> asyncio.Queue[tuple[dict[str, Any], str]]:
        queue = self.queues.get(room_id)
        if queue is None:
            queue = asyncio.Queue()
            self.queues[room_id] = queue
            asyncio.get_running_loop().create_task(self.worker(queue))
        return queue

    async def worker(self, queue: asyncio.Queue[tuple[dict[str, Any], str]]) -> None:
        while True:
            content, target = await queue.get()
            await self.send(target, content)

    async def send(self, room_id: str, content: dict[str, Any]) -> None:
        self.txn += 1
        txn = f"peer{time.time_ns()}.{self.txn}"
        response = await self.client.room_send(room_id, "m.room.message", content, tx_id=txn)
        if not hasattr(response, "event_id"):
            # counted as lost by the benchmark, which then fails: a reference must not stumble
            log.error("a copy into %s was refused: %s", room_id, response)

    async def translate(self, text: str, source: str, target: str) -> str:
        assert self.http is not None
        return await translate_direct(self.http, self.apertium, text, source, target)


async def translate_direct(
    http: aiohttp.ClientSession, apertium: str, text: str, source: str, target: str
) -> str:
    """One translation as the naive relay does it (direct pair, else through Spanish)."""
    if source == target:
        return text
    if (source, target) not in DIRECT:
        middle = await translate_direct(http, apertium, text, source, "es")
        return await translate_direct(http, apertium, middle, "es", target)
    params = {"langpair": f"{APY[source]}|{APY[target]}", "q": text, "markUnknown": "no"}
    async with http.get(f"{apertium}/translate", params=params) as response:
        data = await response.json(content_type=None)
    return str(data["responseData"]["translatedText"])


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(PeerRelay(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))).run())
