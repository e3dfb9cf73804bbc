"""One running bot's life: start (migrate, log in, replay, sync, serve), run, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from sqlite_utils import Migrations

from bot.core import heap
from bot.core.feature import Core
from bot.core.greeting import Greeter
from bot.core.matrix import crosssigning
from bot.core.matrix.client import MatrixError
from bot.core.matrix.intake import EventIntake, IncomingEvent, Listener
from bot.core.matrix.latekeys import LateKeys
from bot.core.matrix.sync import SyncLoop
from bot.core.router import Router

log = logging.getLogger(__name__)
# its own name, so a throwaway deployment (the demo) can leave the operator's notice out
recovery_log = logging.getLogger(f"{__name__}.recovery")


class Runtime:
    def __init__(
        self,
        core: Core,
        router: Router,
        listeners: Sequence[Listener],
        migrations: Sequence[Migrations],
        *,
        owns_process: bool = False,
    ) -> None:
        self.core = core
        self.owns_process = owns_process
        self.router = router
        self.listeners = list(listeners)
        self.migrations = list(migrations)
        self.late_keys: LateKeys | None = None
        if core.config.matrix.encryption:
            self.late_keys = LateKeys(
                core.db, core.matrix, core.tasks, core.metrics, core.config.matrix
            )
        self.sync = SyncLoop(
            core.matrix,
            core.db,
            core.tasks,
            core.config.bot,
            on_first_sync=self._first_sync,
            late_keys=self.late_keys,
            on_join=Greeter(core.db, core.rooms, core.phrases, core.broadcast).greet,
        )
        self.intake: EventIntake | None = None
        self._stop = asyncio.Event()
        self._sync_task: asyncio.Task[None] | None = None
        # one cross-signing pass at a time: two would make two different identities
        self._cross_signing = asyncio.Lock()

    async def start(self) -> None:
        """Migrate, log in, replay what a crash left unhandled, then start syncing."""
        core = self.core
        core.db.migrate(self.migrations)
        # once, for a file made before incremental vacuum: a full rewrite, before any traffic
        core.db.make_incremental()
        await core.matrix.login()
        intake = EventIntake(
            core.db,
            core.matrix.user_id,
            self.listeners,
            park=self.late_keys.park if self.late_keys is not None else None,
            tracer=core.matrix.tracer,
        )
        self.intake = intake
        self.sync.replay_after_first_sync(intake.pending())
        intake.on_handled = self._count_event
        self.router.on_command = self._count_command
        self._sync_task = asyncio.create_task(self.sync.run(intake), name="sync")
        if core.web is not None:
            await core.web.start()

    async def _first_sync(self) -> None:
        core = self.core
        await core.scheduler.start()
        if self.late_keys is not None:
            late = self.late_keys
            # events kept for their key are dropped once too old, even if no key ever comes

            async def expire() -> None:
                late.expire()

            core.scheduler.every("core:late-keys", 3600, expire)
        if heap.available():

            async def trim_heap() -> None:
                heap.trim()

            core.scheduler.every("core:heap-trim", heap.TRIM_EVERY_SECONDS, trim_heap)
        if self.owns_process:
            # start-up is over: its objects need not be walked by every full collection again
            heap.settle()
        matrix_config = core.config.matrix
        if matrix_config.encryption and matrix_config.cross_signing:
            # off the sync loop: the homeserver may be slow, and nothing waits for it
            core.tasks.spawn(self.cross_sign(), name="cross-signing")

    async def cross_sign(self) -> crosssigning.Outcome | None:
        """Publish the account's cross-signing keys if needed and sign this device.

        Made at the first start, the recovery key goes to a file readable by the owner only
        (never to the log): the operator keeps it offline and deletes the file.
        """
        core = self.core
        data_dir = core.config.storage.path
        try:
            async with self._cross_signing:
                outcome = await crosssigning.ensure(
                    core.matrix,
                    data_dir / crosssigning.KEY_FILE,
                    password=core.config.matrix.password,
                )
        except (crosssigning.CrossSigningError, MatrixError) as exc:
            log.error("cross-signing not set up: %s", exc)
            return None
        if outcome.recovery_key is not None:
            target = data_dir / crosssigning.RECOVERY_FILE
            crosssigning.write_private(target, outcome.recovery_key + "\n")
            recovery_log.warning(
                "made the account's cross-signing keys (master key %s); the recovery key is "
                "in %s: keep it offline (a password manager, paper) and delete that file",
                outcome.master_key,
                target,
            )
        elif outcome.state != "unchanged":
            log.info(
                "cross-signing: %s (device %s, master key %s)",
                outcome.state,
                outcome.device_id,
                outcome.master_key,
            )
        return outcome

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
        core = self.core
        self._stop.set()
        self.sync.stop()
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
            self._sync_task = None
        core.scheduler.shutdown()
        if core.web is not None:
            await core.web.stop()
        if self.intake is not None:
            await self.intake.drain(timeout=20)
        await core.tasks.drain(timeout=10)
        await core.matrix.close()
        if core.matrix.tracer is not None:
            core.matrix.tracer.close()
        if core.translation is not None:
            await core.translation.aclose()
        core.db.close()
        log.info("stopped")

    def _count_event(self, event: IncomingEvent, outcome: str, seconds: float) -> None:
        self.core.metrics.events_handled.labels(outcome).inc()
        self.core.metrics.handle_seconds.observe(seconds)

    def _count_command(self, family: str, outcome: str, seconds: float) -> None:
        self.core.metrics.commands.labels(family, outcome).inc()
