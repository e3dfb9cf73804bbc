"""The sync loop: fetch, answer invites, forget left rooms, hand events to the intake.

It retries an unreachable homeserver with backoff (logging the outage once), replays what a
crash left unhandled once the first sync has restored room state, and tells observers (health,
tests) after every round through a condition instead of making them poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable

from bot.core.config import BotConfig
from bot.core.matrix.client import MatrixClient, MatrixError
from bot.core.matrix.intake import EventIntake, IncomingEvent
from bot.core.matrix.latekeys import LateKeys
from bot.core.storage import rooms, roomstate
from bot.core.storage.database import Database
from bot.core.tasks import TaskSpawner

log = logging.getLogger(__name__)

# seconds between attempts to join a room whose invite the inviting server has not stored yet
JOIN_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
# turns of the event loop given to the lanes after a batch is handed to them (see run)
HANDOFF_TURNS = 4
# How long a room just joined may take to appear in a sync before it is not greeted.
JOIN_STATE_TIMEOUT = 120.0


class SyncLoop:
    def __init__(
        self,
        matrix: MatrixClient,
        db: Database,
        tasks: TaskSpawner,
        config: BotConfig,
        *,
        on_first_sync: Callable[[], Awaitable[None]],
        late_keys: LateKeys | None = None,
        on_join: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.matrix = matrix
        self.db = db
        self.tasks = tasks
        self.config = config
        self.on_first_sync = on_first_sync
        self.late_keys = late_keys
        self.on_join = on_join
        self.ready = asyncio.Event()
        # observers (health, tests) wait on this instead of polling
        self.state = asyncio.Condition()
        self.failures = 0
        self.outages = 0
        self._stop = asyncio.Event()
        self._replay: list[IncomingEvent] = []
        self._joining: set[str] = set()

    def replay_after_first_sync(self, events: list[IncomingEvent]) -> None:
        """Events a crash left unhandled: before the first sync nio knows no room or power."""
        self._replay = events

    def stop(self) -> None:
        self._stop.set()

    async def run(self, intake: EventIntake) -> None:
        delay = 1.0
        outage_since: float | None = None
        await self._restore_rooms(intake)
        while not self._stop.is_set():
            try:
                batch = await self.matrix.sync(intake.since())
            except asyncio.CancelledError:
                raise
            except (MatrixError, OSError, TimeoutError, Exception) as exc:  # noqa: B014
                if outage_since is None:
                    outage_since = time.monotonic()
                    self.matrix.connected = False
                    self.outages += 1
                    log.warning("sync failed (%s); retrying with backoff", type(exc).__name__)
                self.failures += 1
                await self._notify()
                await self._wait_or_stop(delay)
                delay = min(delay * 2, 30.0)
                continue
            if outage_since is not None:
                log.warning(
                    "homeserver reachable again after %.1f s", time.monotonic() - outage_since
                )
                outage_since = None
            delay = 1.0
            self.matrix.connected = True
            for room_id, inviter in batch.invites.items():
                # joining may retry for minutes: never hold the sync loop for it
                if room_id not in self._joining:
                    self._joining.add(room_id)
                    self.tasks.spawn(self._on_invite(room_id, inviter), name="invite")
            for room_id in batch.left:
                try:
                    rooms.forget(self.db, room_id)
                except sqlite3.Error as exc:
                    log.error("could not forget the room %s: %s", room_id, exc)
            for event in self._replay:
                log.info("replaying unhandled event %s in %s", event.event_id, event.room_id)
                intake.dispatch(event)
            self._replay = []
            accepted = intake.accept(batch)
            tracer = self.matrix.tracer
            if tracer is not None:
                tracer.sync_point("accepted")
                for event in accepted:
                    tracer.follow(event.event_id)
            for event in accepted:
                intake.dispatch(event)
            if accepted:
                # a few turns of the loop before the next request is prepared: the rooms'
                # lanes take these events, build their copies and start sending first
                for _ in range(HANDOFF_TURNS):
                    await asyncio.sleep(0)
            late = self.late_keys
            if late is not None and (batch.room_keys or not self.ready.is_set()):
                # at start every kept event is tried: its key may have come while we were away
                first = not self.ready.is_set()
                for event in late.retry(None if first else batch.room_keys):
                    intake.dispatch(event)
                if first:
                    late.expire()
                    late.ask_again()
            await self._notify()
            if not self.ready.is_set():
                # schedules start once the rooms are known, so due posts can go out at once
                await self.on_first_sync()
                self.ready.set()
                log.info("ready: first sync done as %s", self.matrix.user_id)

    async def _restore_rooms(self, intake: EventIntake) -> None:
        """Rooms rebuilt from the state stored with the token: the first sync asks only what
        changed since (a full-state answer for 1,000 rooms is seconds of the homeserver's work)."""
        if intake.since() is None:
            return
        try:
            stored = roomstate.load(self.db)
        except sqlite3.Error as exc:
            log.warning("stored room state not readable (%s): asking for it all", exc)
            return
        if stored is None:
            return
        try:
            await self.matrix.restore_rooms(stored)
        except Exception:  # a broken copy must never stop the bot: the full state is asked
            log.exception("stored room state not usable: asking for it all")

    async def _notify(self) -> None:
        async with self.state:
            self.state.notify_all()

    async def _wait_or_stop(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    async def _on_invite(self, room_id: str, inviter: str | None) -> None:
        try:
            await self._answer_invite(room_id, inviter)
        finally:
            self._joining.discard(room_id)

    async def _answer_invite(self, room_id: str, inviter: str | None) -> None:
        if inviter is not None and self.invite_allowed(inviter):
            if await self._join_invited(room_id) and self.on_join is not None:
                await self._after_join(room_id, self.on_join)
            return
        log.warning("rejected an invite to %s from %s (not on the allow-list)", room_id, inviter)
        try:
            await self.matrix.reject_invite(room_id)
        except MatrixError as exc:
            log.warning("could not reject the invite to %s: %s", room_id, exc)

    async def _join_invited(self, room_id: str) -> bool:
        """Join a room we were invited to.

        An invite from another homeserver can reach us before the inviting server has stored
        it (the room is still being created there): a join that quick is refused as "not
        invited". So a refusal is tried again a few times, a little later each time.
        """
        for delay in (*JOIN_RETRY_DELAYS, None):
            try:
                await self.matrix.join(room_id)
                log.info("joined %s on an invite", room_id)
                return True
            except MatrixError as exc:
                if exc.errcode != "M_FORBIDDEN" or delay is None or self._stop.is_set():
                    log.warning("could not join %s: %s", room_id, exc)
                    return False
            await self._wait_or_stop(delay)
        return False

    async def _after_join(self, room_id: str, on_join: Callable[[str], Awaitable[None]]) -> None:
        """Once a sync has brought the room's state (its language, its members), greet it."""
        try:
            async with asyncio.timeout(JOIN_STATE_TIMEOUT), self.state:
                await self.state.wait_for(lambda: self.matrix.is_joined(room_id))
        except TimeoutError:
            log.warning("joined %s but no sync brought it; not greeting it", room_id)
            return
        try:
            await on_join(room_id)
        except Exception:
            log.exception("could not greet %s", room_id)

    def invite_allowed(self, inviter: str) -> bool:
        """Bot admins, listed user ids, and users of listed homeservers may invite the bot."""
        config = self.config
        if inviter in config.admins or inviter in config.allowed_inviters:
            return True
        server = inviter.split(":", 1)[1] if ":" in inviter else ""
        return server in config.allowed_inviters
