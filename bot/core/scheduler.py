"""APScheduler wiring. Our tables hold every schedule; APScheduler only fires them.

At start each feature's loader re-adds its jobs from its own tables (job id = our row id, so
adding twice replaces instead of duplicating). Whether a firing missed while the bot was down
is still worth sending is the feature's decision, made in its loader.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
Loader = Callable[[], Awaitable[None]]


class Scheduler:
    def __init__(self) -> None:
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._loaders: list[tuple[str, Loader]] = []
        self.fired = 0
        self.failed = 0

    def register_loader(self, name: str, loader: Loader) -> None:
        """``loader`` re-adds a feature's jobs from its tables at every start."""
        self._loaders.append((name, loader))

    async def start(self) -> None:
        self._aps.start()
        for name, loader in self._loaders:
            try:
                await loader()
            except Exception:
                log.exception("could not rebuild the %s schedules", name)

    def at(self, job_id: str, when: datetime, job: Job) -> None:
        """Fire ``job`` once at ``when`` (immediately if it is already past)."""
        if when.tzinfo is None:
            raise ValueError("aware datetimes only")
        self._aps.add_job(
            self._run,
            DateTrigger(run_date=max(when, datetime.now(UTC))),
            args=(job_id, job),
            id=job_id,
            replace_existing=True,
            misfire_grace_time=None,
        )

    def every(
        self, job_id: str, seconds: float, job: Job, *, first: datetime | None = None
    ) -> None:
        self._aps.add_job(
            self._run,
            IntervalTrigger(seconds=seconds, start_date=first or datetime.now(UTC)),
            args=(job_id, job),
            id=job_id,
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
            next_run_time=first or datetime.now(UTC),
        )

    def cancel(self, job_id: str) -> None:
        if self._aps.get_job(job_id) is not None:
            self._aps.remove_job(job_id)

    def has(self, job_id: str) -> bool:
        return self._aps.get_job(job_id) is not None

    def job_count(self) -> int:
        return len(self._aps.get_jobs())

    def next_run(self, job_id: str) -> datetime | None:
        job = self._aps.get_job(job_id)
        return job.next_run_time if job is not None else None

    async def _run(self, job_id: str, job: Job) -> None:
        try:
            await job()
            self.fired += 1
        except Exception:
            self.failed += 1
            log.exception("scheduled job %s failed", job_id)

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)
