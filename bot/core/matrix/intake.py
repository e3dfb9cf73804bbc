"""Which events matter, and handing each to the listeners exactly once, in room order.

Own events, history from before the bot joined, and events already handled are dropped here.
Each room has a lane: its events are handled one after another (so copies and replies keep the
room's order) while different rooms proceed in parallel.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core.matrix.client import LIAISON_KEY, SyncBatch
from bot.core.matrix.relations import thread_root_of
from bot.core.storage import ledger as inbox
from bot.core.storage import rooms, roomstate
from bot.core.storage.database import Database
from bot.core.trace import Tracer

log = logging.getLogger(__name__)

# On an event decrypted after its key came late: what it is still fresh enough for.
LATE_KEY = "liaison_late"


@dataclass(frozen=True)
class IncomingEvent:
    """A room event as the bot's features see it (decrypted where it was encrypted)."""

    room_id: str
    event_id: str
    sender: str
    type: str
    content: dict[str, Any]
    origin_server_ts: int
    source: dict[str, Any]
    # sends a listener started for this event; the event counts as handled once they settle
    completions: list[asyncio.Future[Any]] = field(default_factory=list, compare=False, repr=False)
    # what handled it (e.g. the command family), for the one log line per event
    notes: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_source(cls, room_id: str, source: dict[str, Any]) -> IncomingEvent:
        content = source.get("content")
        return cls(
            room_id=room_id,
            event_id=str(source.get("event_id", "")),
            sender=str(source.get("sender", "")),
            type=str(source.get("type", "")),
            content=content if isinstance(content, dict) else {},
            origin_server_ts=int(source.get("origin_server_ts") or 0),
            source=source,
        )

    @property
    def body(self) -> str:
        body = self.content.get("body")
        return body if isinstance(body, str) else ""

    @property
    def msgtype(self) -> str:
        msgtype = self.content.get("msgtype")
        return msgtype if isinstance(msgtype, str) else ""

    @property
    def relates_to(self) -> dict[str, Any]:
        relates = self.content.get("m.relates_to")
        return relates if isinstance(relates, dict) else {}

    @property
    def thread_root(self) -> str | None:
        """The root of the thread this event was posted in (None outside threads)."""
        return thread_root_of(self.content)

    @property
    def redacts(self) -> str | None:
        redacts = self.source.get("redacts") or self.content.get("redacts")
        return redacts if isinstance(redacts, str) else None

    @property
    def from_liaison(self) -> bool:
        return LIAISON_KEY in self.content

    @property
    def undecryptable(self) -> bool:
        return bool(self.source.get("liaison_undecryptable"))

    @property
    def encrypted(self) -> bool:
        """Sent encrypted (and decrypted for us)."""
        return bool(self.source.get("liaison_encrypted") or self.source.get(LATE_KEY))

    def allows(self, use: str) -> bool:
        """Whether the event is fresh enough for ``use`` (``command``, ``relay``).

        Only an event whose room key came late can be too old; the others always are fresh.
        """
        late = self.source.get(LATE_KEY)
        return late is None or (isinstance(late, list) and use in late)


Listener = Callable[[IncomingEvent], Awaitable[None]]

# m.room.encryption: a room turning encryption on changes where its messages may be relayed
HANDLED_TYPES = frozenset(
    {
        "m.room.message",
        "m.reaction",
        "m.room.redaction",
        "m.room.encrypted",
        "m.sticker",
        "m.room.encryption",
    }
)


class EventIntake:
    """From a sync batch to the listeners: filter, record, dedupe, dispatch by room lane."""

    def __init__(
        self,
        db: Database,
        own_user_id: str,
        listeners: list[Listener],
        *,
        park: Callable[[IncomingEvent], IncomingEvent | None] | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.db = db
        self.own_user_id = own_user_id
        self.listeners = listeners
        # keeps an event we cannot decrypt until its key comes (the decrypted event if it has)
        self.park = park
        self.tracer = tracer
        self.started_ms = int(time.time() * 1000)
        self._lanes: dict[str, asyncio.Queue[IncomingEvent | None]] = {}
        self._lane_tasks: dict[str, asyncio.Task[None]] = {}
        self.handled = 0
        self.on_handled: Callable[[IncomingEvent, str, float], None] | None = None
        self._memory_token: str | None = None
        self._degraded_seen: set[str] = set()
        self._degraded_rooms: set[str] = set()

    def since(self) -> str | None:
        if self._memory_token is not None:
            return self._memory_token
        try:
            return inbox.get_state(self.db, "next_batch")
        except sqlite3.Error:
            return None

    def accept(self, batch: SyncBatch) -> list[IncomingEvent]:
        """Record the batch and its token atomically; return the events to handle now.

        If the database cannot be written, the batch is still handled (sends carry
        deterministic transaction ids, so a later replay posts nothing twice) and the token
        is kept in memory until the database is writable again.
        """
        first_sync = batch.since is None
        recovering = self._memory_token is not None
        try:
            candidates: list[inbox.InboxEvent] = []
            joined_now: list[str] = []
            for room_id, timeline in batch.timelines.items():
                known = rooms.is_known(self.db, room_id)
                for source in self._relevant(timeline, known=known, first_sync=first_sync):
                    candidates.append(inbox.InboxEvent(room_id, source))
                if not known:
                    joined_now.append(room_id)
            # a new room counts as known only together with its batch: a crash in between
            # must not turn the room's history before our join into new events
            with self.db.transaction():
                for room_id in joined_now:
                    rooms.remember(self.db, room_id)
                fresh = inbox.accept_batch(self.db, candidates, batch.next_batch)
                # the rooms' state goes with the token that reached it (see roomstate)
                if batch.full_state:
                    roomstate.replace_all(self.db, batch.state)
                elif recovering:
                    roomstate.invalidate(self.db)  # the syncs handled meanwhile were not kept
                else:
                    roomstate.apply(self.db, batch.state, batch.left)
        except sqlite3.Error as exc:
            return self._accept_degraded(batch, exc)
        if self._memory_token is not None:
            log.warning("database writable again; the event ledger is back")
            self._memory_token = None
            self._degraded_seen.clear()
            self._degraded_rooms.clear()
        return [IncomingEvent.from_source(e.room_id, e.source) for e in fresh]

    def _accept_degraded(self, batch: SyncBatch, exc: sqlite3.Error) -> list[IncomingEvent]:
        if self._memory_token is None:
            log.error("database not writable (%s): handling events without the ledger", exc)
        self._memory_token = batch.next_batch
        fresh: list[IncomingEvent] = []
        for room_id, timeline in batch.timelines.items():
            known = room_id in self._degraded_rooms or self._known(room_id)
            self._degraded_rooms.add(room_id)
            for source in self._relevant(timeline, known=known, first_sync=batch.since is None):
                event_id = str(source.get("event_id"))
                if event_id not in self._degraded_seen:
                    self._degraded_seen.add(event_id)
                    fresh.append(IncomingEvent.from_source(room_id, source))
        return fresh

    def _known(self, room_id: str) -> bool:
        try:
            return rooms.is_known(self.db, room_id)
        except sqlite3.Error:
            return False  # cannot tell: rather miss pre-join history than replay it

    @property
    def degraded(self) -> bool:
        return self._memory_token is not None

    def _relevant(
        self, timeline: list[dict[str, Any]], *, known: bool, first_sync: bool
    ) -> list[dict[str, Any]]:
        if first_sync:
            # no replay of history on the very first start: only what happens from now on
            timeline = [
                e for e in timeline if int(e.get("origin_server_ts") or 0) >= self.started_ms
            ]
        elif not known:
            # a room joined in this batch: its history before our join is not for us
            timeline = _after_own_join(timeline, self.own_user_id)
        return [
            e
            for e in timeline
            if e.get("sender") != self.own_user_id and e.get("type") in HANDLED_TYPES
        ]

    def pending(self) -> list[IncomingEvent]:
        """Events accepted before a crash but never handled."""
        return [IncomingEvent.from_source(e.room_id, e.source) for e in inbox.pending(self.db)]

    def dispatch(self, event: IncomingEvent) -> None:
        lane = self._lanes.get(event.room_id)
        if lane is None:
            lane = asyncio.Queue()
            self._lanes[event.room_id] = lane
            self._lane_tasks[event.room_id] = asyncio.create_task(
                self._run_lane(lane), name=f"lane:{event.room_id}"
            )
        lane.put_nowait(event)

    def backlog(self) -> int:
        return sum(lane.qsize() for lane in self._lanes.values())

    async def _run_lane(self, lane: asyncio.Queue[IncomingEvent | None]) -> None:
        while True:
            event = await lane.get()
            if event is None:
                return
            if event.undecryptable and self.park is not None:
                ready = self.park(event)
                if ready is None:
                    continue
                event = ready
            tracer = self.tracer
            if tracer is not None:
                tracer.point(event.event_id, "lane")
            started = time.monotonic()
            outcome = "ok"
            for listener in self.listeners:
                try:
                    await listener(event)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    outcome = "error"
                    log.exception(
                        "listener %s failed on %s in %s",
                        getattr(listener, "__qualname__", listener),
                        event.event_id,
                        event.room_id,
                    )
            if event.completions:
                # keep the room's pipeline moving; the ledger waits for the sends to settle
                settled = asyncio.gather(*event.completions, return_exceptions=True)
                settled.add_done_callback(functools.partial(self._settled, event))
            else:
                self._mark_done(event)
                if tracer is not None:
                    tracer.drop(event.event_id)
            self.handled += 1
            elapsed = time.monotonic() - started
            log.info(
                "event room=%s event=%s type=%s family=%s outcome=%s ms=%.0f",
                event.room_id,
                event.event_id,
                event.type,
                event.notes.get("family", "-"),
                event.notes.get("outcome", outcome),
                elapsed * 1000,
            )
            if self.on_handled is not None:
                self.on_handled(event, outcome, elapsed)

    def _settled(self, event: IncomingEvent, future: asyncio.Future[Any]) -> None:
        results = [] if future.cancelled() else future.result()
        if future.cancelled() or any(isinstance(r, asyncio.CancelledError) for r in results):
            # cut short by a shutdown: leave it for the replay (txn ids make that safe)
            return
        self._mark_done(event)
        if self.tracer is not None:
            self.tracer.drop(event.event_id)

    def _mark_done(self, event: IncomingEvent) -> None:
        try:
            inbox.mark_done(self.db, event.event_id)
        except sqlite3.Error as exc:
            log.error("could not mark %s as handled: %s", event.event_id, exc)

    async def drain(self, timeout: float) -> None:
        """Finish what is queued (bounded), then stop the lanes."""
        for lane in self._lanes.values():
            lane.put_nowait(None)
        tasks = list(self._lane_tasks.values())
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


def _after_own_join(timeline: list[dict[str, Any]], own_user_id: str) -> list[dict[str, Any]]:
    for index in range(len(timeline) - 1, -1, -1):
        event = timeline[index]
        if (
            event.get("type") == "m.room.member"
            and event.get("state_key") == own_user_id
            and event.get("content", {}).get("membership") == "join"
        ):
            return timeline[index + 1 :]
    return []
