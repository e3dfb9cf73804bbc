"""``/health`` for supervisors and ``/metrics`` for Prometheus, on the bot's web server.

Healthy means: a sync with the homeserver succeeded recently, the database accepts a write, and
its last integrity check (``PRAGMA quick_check``, run on a schedule in a thread of its own)
found nothing wrong.
Counters kept elsewhere as plain numbers (send statistics, translation statistics) are copied
into the Prometheus registry at each scrape, so the hot paths never touch prometheus-client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import Counter as PromCounter

from bot.core.matrix.client import MatrixClient
from bot.core.metrics import Metrics
from bot.core.scheduler import Scheduler
from bot.core.storage import operations
from bot.core.storage.database import Database
from bot.core.web import WebServer

if TYPE_CHECKING:
    from bot.translation.service import TranslationService

log = logging.getLogger(__name__)

# Slack on top of two long-poll timeouts: a slow homeserver answer is not an outage.
SYNC_MARGIN_SECONDS = 15.0
INTEGRITY_JOB = "core:integrity-check"


class Health:
    """The verdicts behind ``/health`` and the figures behind ``/metrics``."""

    def __init__(
        self,
        matrix: MatrixClient,
        db: Database,
        scheduler: Scheduler,
        metrics: Metrics,
        translation: TranslationService | None,
        *,
        sync_timeout_ms: int,
    ) -> None:
        self.matrix = matrix
        self.db = db
        self.scheduler = scheduler
        self.metrics = metrics
        self.translation = translation
        self.sync_timeout_ms = sync_timeout_ms
        self._seen: dict[tuple[str, ...], float] = {}
        # what the last integrity check found (None: not run yet)
        self.damage: list[str] | None = None
        self.integrity_checks = 0

    async def check_integrity(self) -> list[str]:
        """Run ``PRAGMA quick_check`` off the event loop; remember and return what it found."""
        found = await asyncio.to_thread(self.db.quick_check)
        self.integrity_checks += 1
        if found and found != self.damage:
            log.error("the database is damaged: %s", "; ".join(found[:5]))
        elif not found and self.damage:
            log.warning("the database integrity check passes again")
        self.damage = found
        return found

    def schedule_integrity_checks(self, seconds: int) -> None:
        """The check runs at start and every ``seconds`` (a cheap pass over the pages)."""
        self.scheduler.every(INTEGRITY_JOB, seconds, self._scheduled_check)

    async def _scheduled_check(self) -> None:
        await self.check_integrity()

    @property
    def sync_deadline(self) -> float:
        """Seconds without a good sync after which the bot counts as unhealthy."""
        return 2 * self.sync_timeout_ms / 1000 + SYNC_MARGIN_SECONDS

    def check(self, now: float | None = None) -> tuple[bool, dict[str, Any]]:
        """Whether the bot is healthy, and a report saying why (no secrets, no message content)."""
        now = time.monotonic() if now is None else now
        problems: list[str] = []
        matrix = self.matrix
        age = None if matrix.last_sync_at is None else now - matrix.last_sync_at
        deadline = self.sync_deadline
        if age is None:
            problems.append("sync: no successful sync with the homeserver yet")
        elif not matrix.connected:
            problems.append(f"sync: the homeserver is unreachable (last good sync {age:.0f} s ago)")
        elif age > deadline:
            problems.append(f"sync: last good sync {age:.0f} s ago (limit {deadline:.0f} s)")
        database = "ok"
        if self.damage:
            database = "damaged: " + "; ".join(self.damage[:3])
            problems.append(f"database: damaged (quick_check: {'; '.join(self.damage[:3])})")
        try:
            operations.touch_health(self.db)
        except sqlite3.Error as exc:
            if database == "ok":
                database = f"{type(exc).__name__}: {exc}"
            problems.append(f"database: not writable ({type(exc).__name__}: {exc})")
        report: dict[str, Any] = {
            "status": "ok" if not problems else "unhealthy",
            "reason": "; ".join(problems) if problems else None,
            "problems": problems,
            "sync_age_seconds": None if age is None else round(age, 3),
            "sync_deadline_seconds": deadline,
            "connected": matrix.connected,
            "database": database,
            "database_locked": self.db.contended,
        }
        return not problems, report

    def update_metrics(self, now: float | None = None) -> None:
        """Copy the running totals kept by the client and the translator into Prometheus."""
        metrics = self.metrics
        now = time.monotonic() if now is None else now
        last = self.matrix.last_sync_at
        # before the first sync the lag counts from start, not from the epoch
        metrics.sync_lag.set(0.0 if last is None else max(0.0, now - last))
        metrics.scheduler_jobs.set(self.scheduler.job_count())
        stats = self.matrix.stats
        self._advance(metrics.send_retries, ("send_retries",), stats.retries)
        self._advance(metrics.rate_limited, ("rate_limited",), stats.rate_limited)
        if self.translation is not None:
            for engine, engine_stats in self.translation.stats.items():
                for result, total in (
                    ("call", engine_stats.calls),
                    ("failure", engine_stats.failures),
                    ("cache_hit", engine_stats.cache_hits),
                ):
                    counter = metrics.translations.labels(engine, result)
                    self._advance(counter, ("translation", engine, result), total)

    def _advance(self, counter: PromCounter, key: tuple[str, ...], total: float) -> None:
        delta = total - self._seen.get(key, 0)
        if delta > 0:
            counter.inc(delta)
            self._seen[key] = total

    def add_routes(self, web_server: WebServer) -> None:
        web_server.add_get("/health", self._health)
        web_server.add_get("/metrics", self._metrics)

    async def _health(self, request: web.Request) -> web.Response:
        healthy, report = self.check()
        if not healthy:
            log.warning("health check failed: %s", report["reason"])
        return web.Response(
            text=json.dumps(report),
            status=200 if healthy else 503,
            content_type="application/json",
        )

    async def _metrics(self, request: web.Request) -> web.Response:
        self.update_metrics()
        return web.Response(
            body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )
