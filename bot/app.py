"""Composition root: builds every part from the Config, wires them, starts and stops them.

Only this module imports ``commands/``; everything else receives what it needs from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time

from bot.aid.service import install as install_aid
from bot.core.command import CommandFamily
from bot.core.config import Config
from bot.core.health import install as install_health
from bot.core.i18n import Catalogs
from bot.core.matrix.client import MatrixClient, MatrixError
from bot.core.matrix.intake import EventIntake, IncomingEvent, Listener
from bot.core.metrics import Metrics
from bot.core.router import Router
from bot.core.scheduler import Scheduler
from bot.core.storage import ledger as inbox
from bot.core.storage import rooms
from bot.core.storage.database import Database
from bot.core.tasks import TaskSpawner
from bot.core.web import WebServer
from bot.features import Installer
from bot.gatherings.service import install as install_gatherings
from bot.relay import install as install_relay
from bot.schedules.service import install as install_announcements
from bot.services import Services
from bot.translation.service import build_translation_service
from commands import aid as aid_commands
from commands import event as event_commands
from commands import forget as forget_commands
from commands import help as help_commands
from commands import place as place_commands
from commands import relay as relay_commands
from commands import room as room_commands
from commands import schedule as schedule_commands

log = logging.getLogger(__name__)


def command_families() -> list[CommandFamily]:
    """Every command family, in the order ``!help`` lists them."""
    return [
        help_commands.family,
        room_commands.family,
        relay_commands.family,
        event_commands.family,
        place_commands.family,
        aid_commands.family,
        schedule_commands.family,
        forget_commands.family,
    ]


# Each feature's install(services, add_listener) builds its runtime object, registers its
# scheduler loader and web routes, and adds its event listener (after the router's).
FEATURE_INSTALLERS: list[Installer] = [
    install_health,
    install_relay,
    install_gatherings,
    install_aid,
    install_announcements,
]


class Application:
    """One running bot."""

    def __init__(
        self, config: Config, *, extra_families: list[CommandFamily] | None = None
    ) -> None:
        self.config = config
        data_dir = config.storage.path
        data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(config.storage.database)
        self.matrix = MatrixClient(config.matrix, data_dir)
        self.tasks = TaskSpawner()
        self.services = Services(
            config=config,
            db=self.db,
            matrix=self.matrix,
            catalogs=Catalogs(),
            tasks=self.tasks,
            scheduler=Scheduler(),
            metrics=Metrics(),
            web=WebServer(config.web) if config.web.enabled else None,
            translation=build_translation_service(config.translation, self.db),
        )
        self.router = Router(self.services, command_families() + list(extra_families or []))
        self.listeners: list[Listener] = [self.router]
        for install in FEATURE_INSTALLERS:
            install(self.services, self.add_listener)
        self.intake: EventIntake | None = None
        self._replay: list[IncomingEvent] = []
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()
        self._sync_task: asyncio.Task[None] | None = None
        # observers (health, tests) wait on this instead of polling
        self.sync_state = asyncio.Condition()
        self.sync_failures = 0
        self._joining: set[str] = set()
        self.outages = 0

    async def start(self) -> None:
        """Migrate, log in, replay what a crash left unhandled, then start syncing."""
        self.db.migrate()
        await self.matrix.login()
        self.intake = EventIntake(self.db, self.matrix.user_id, self.listeners)
        # replayed after the first sync: before it nio knows no room, member or power level
        self._replay = self.intake.pending()
        self.intake.on_handled = self._count_event
        self.router.on_command = self._count_command
        self._sync_task = asyncio.create_task(self._sync_loop(), name="sync")
        if self.services.web is not None:
            await self.services.web.start()

    async def run(self) -> None:
        """Run until :meth:`request_stop` (SIGINT/SIGTERM in the CLI), then shut down cleanly."""
        await self.start()
        try:
            await self._stop.wait()
        finally:
            await self.stop()

    def request_stop(self) -> None:
        self._stop.set()

    async def stop(self) -> None:
        """Stop syncing, finish handled events, flush sends, close the database."""
        self._stop.set()
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
            self._sync_task = None
        self.services.scheduler.shutdown()
        if self.services.web is not None:
            await self.services.web.stop()
        if self.intake is not None:
            await self.intake.drain(timeout=20)
        await self.tasks.drain(timeout=10)
        await self.matrix.close()
        if self.services.translation is not None:
            await self.services.translation.aclose()
        self.db.close()
        log.info("stopped")

    async def _sync_loop(self) -> None:
        assert self.intake is not None
        intake = self.intake
        delay = 1.0
        outage_since: float | None = None
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
                self.sync_failures += 1
                await self._notify_sync_state()
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
            for event in intake.accept(batch):
                intake.dispatch(event)
            await self._notify_sync_state()
            if not self.ready.is_set():
                try:
                    inbox.prune(self.db)
                except sqlite3.Error as exc:
                    log.error("could not prune the event ledger: %s", exc)
                # schedules start once the rooms are known, so due posts can go out at once
                await self.services.scheduler.start()
                self.ready.set()
                log.info("ready: first sync done as %s", self.matrix.user_id)

    async def _notify_sync_state(self) -> None:
        async with self.sync_state:
            self.sync_state.notify_all()

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
            try:
                await self.matrix.join(room_id)
                log.info("joined %s on an invite", room_id)
            except MatrixError as exc:
                log.warning("could not join %s: %s", room_id, exc)
            return
        log.warning("rejected an invite to %s from %s (not on the allow-list)", room_id, inviter)
        try:
            await self.matrix.reject_invite(room_id)
        except MatrixError as exc:
            log.warning("could not reject the invite to %s: %s", room_id, exc)

    def invite_allowed(self, inviter: str) -> bool:
        """Bot admins, listed user ids, and users of listed homeservers may invite the bot."""
        bot = self.config.bot
        if inviter in bot.admins or inviter in bot.allowed_inviters:
            return True
        server = inviter.split(":", 1)[1] if ":" in inviter else ""
        return server in bot.allowed_inviters

    def _count_event(self, event: IncomingEvent, outcome: str, seconds: float) -> None:
        self.services.metrics.events_handled.labels(outcome).inc()
        self.services.metrics.handle_seconds.observe(seconds)

    def _count_command(self, family: str, outcome: str, seconds: float) -> None:
        self.services.metrics.commands.labels(family, outcome).inc()

    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)
