"""Retention: what grows with traffic is kept for a horizon, then erased, and the file shrinks.

Every table that grows with each relayed message (the event ledger, the relay map, the
translation cache) declares a :class:`Pruner`: its horizon and a function that erases one
small batch of rows older than it. One job, run every ``retention.every_seconds`` (daily by
default; when it last ran is kept in ``maintenance_runs``, so a bot restarted every night still
prunes), erases batch after batch, yielding to the event loop between them so the relay and
commands never wait behind it, then gives the freed pages back to the filesystem
(incremental vacuum, a few pages at a time) and empties the write-ahead log.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.config import RetentionConfig
from bot.core.scheduler import Scheduler
from bot.core.storage import ledger, maintenance
from bot.core.storage.database import Database, utcnow

log = logging.getLogger(__name__)

JOB = "core:retention"
# the translation cache's own daily job, which this one replaces: its last run still counts
EARLIER_JOBS = ("translation:prune-cache",)
# pages given back per step (4 KiB each by default): a step is a short write
VACUUM_PAGES = 256


@dataclass(frozen=True)
class Pruner:
    """One kind of row kept for ``horizon``; ``batch(cutoff, limit)`` erases up to ``limit``
    rows older than ``cutoff`` and says how many went (0 when none is left)."""

    name: str
    horizon: timedelta
    batch: Callable[[datetime, int], int]


@dataclass
class RetentionRun:
    """What one run erased, table by table, and what it gave back to the filesystem."""

    erased: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    longest_batch_ms: float = 0.0
    pages_freed: int = 0
    size_before: int = 0
    size_after: int = 0
    failed: list[str] = field(default_factory=list)


class Retention:
    def __init__(self, db: Database, config: RetentionConfig, pruners: Sequence[Pruner]) -> None:
        self.db = db
        self.config = config
        self.pruners: list[Pruner] = [
            Pruner("inbox", config.inbox, lambda cutoff, n: ledger.prune(db, cutoff, n)),
            *pruners,
        ]
        self.last: RetentionRun | None = None
        self._running = asyncio.Lock()

    async def run(self, now: datetime | None = None) -> RetentionRun:
        """Erase everything past its horizon, a batch at a time, then shrink the file."""
        async with self._running:
            outcome = RetentionRun(size_before=self.db.size_bytes())
            moment = now or utcnow()
            for pruner in self.pruners:
                await self._prune(pruner, moment - pruner.horizon, outcome)
            try:
                maintenance.record_run(self.db, JOB, utcnow())
            except sqlite3.Error as exc:
                log.warning("the retention run was not recorded: %s", exc)
            await self._shrink(outcome)
            outcome.size_after = self.db.size_bytes()
            self.last = outcome
            log.info(
                "retention: erased %s in %d batch(es) (longest %.1f ms); file %d KiB -> %d KiB",
                ", ".join(f"{n} {name}" for name, n in outcome.erased.items()) or "nothing",
                outcome.batches,
                outcome.longest_batch_ms,
                outcome.size_before // 1024,
                outcome.size_after // 1024,
            )
            return outcome

    async def _prune(self, pruner: Pruner, cutoff: datetime, outcome: RetentionRun) -> None:
        limit = self.config.batch_rows
        erased = 0
        while True:
            started = time.perf_counter()
            try:
                gone = pruner.batch(cutoff, limit)
            except sqlite3.Error as exc:
                # another process holds the lock, or the disk is full: the next run goes on
                log.warning("retention of %s stopped for now: %s", pruner.name, exc)
                outcome.failed.append(pruner.name)
                break
            outcome.batches += 1
            outcome.longest_batch_ms = max(
                outcome.longest_batch_ms, (time.perf_counter() - started) * 1000
            )
            erased += gone
            if gone == 0:
                break
            # the relay and commands take their turn between two batches
            await asyncio.sleep(self.config.batch_pause_seconds)
        outcome.erased[pruner.name] = erased

    async def _shrink(self, outcome: RetentionRun) -> None:
        if not sum(outcome.erased.values()) and not self.db.free_pages():
            self.db.checkpoint()
            return
        while True:
            freed = self.db.incremental_vacuum(VACUUM_PAGES)
            outcome.pages_freed += freed
            if freed < VACUUM_PAGES:
                break
            await asyncio.sleep(self.config.batch_pause_seconds)
        # erased rows leave the write-ahead log too, and the truncation reaches the file
        self.db.checkpoint()

    def schedule(self, scheduler: Scheduler) -> None:
        """Fire the job every ``every_seconds``, the first time when the last run says."""
        every = timedelta(seconds=self.config.every_seconds)
        runs = [maintenance.last_run(self.db, job) for job in (JOB, *EARLIER_JOBS)]
        known = [r for r in runs if r is not None]
        last = max(known) if known else None
        due = utcnow() if last is None else max(utcnow(), last + every)

        async def run() -> None:
            await self.run()

        scheduler.every(JOB, every.total_seconds(), run, first=due)
