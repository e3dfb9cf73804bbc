"""``/health`` for supervisors and ``/metrics`` for Prometheus, on the bot's web server.

Healthy means: a sync with the homeserver succeeded recently and the database accepts a write.
Counters kept elsewhere as plain numbers (send statistics, translation statistics) are copied
into the Prometheus registry at each scrape, so the hot paths never touch prometheus-client.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import Counter as PromCounter

from bot.core.matrix.intake import Listener
from bot.core.storage import operations
from bot.services import Services

log = logging.getLogger(__name__)

# Slack on top of two long-poll timeouts: a slow homeserver answer is not an outage.
SYNC_MARGIN_SECONDS = 15.0


def sync_deadline(services: Services) -> float:
    """Seconds without a good sync after which the bot counts as unhealthy."""
    return 2 * services.config.matrix.sync_timeout_ms / 1000 + SYNC_MARGIN_SECONDS


def check(services: Services, now: float | None = None) -> tuple[bool, dict[str, Any]]:
    """Whether the bot is healthy, and a report saying why (no secrets, no message content)."""
    now = time.monotonic() if now is None else now
    problems: list[str] = []
    matrix = services.matrix
    age = None if matrix.last_sync_at is None else now - matrix.last_sync_at
    deadline = sync_deadline(services)
    if age is None:
        problems.append("sync: no successful sync with the homeserver yet")
    elif not matrix.connected:
        problems.append(f"sync: the homeserver is unreachable (last good sync {age:.0f} s ago)")
    elif age > deadline:
        problems.append(f"sync: last good sync {age:.0f} s ago (limit {deadline:.0f} s)")
    database = "ok"
    try:
        operations.touch_health(services.db)
    except sqlite3.Error as exc:
        database = f"{type(exc).__name__}: {exc}"
        problems.append(f"database: not writable ({database})")
    report: dict[str, Any] = {
        "status": "ok" if not problems else "unhealthy",
        "reason": "; ".join(problems) if problems else None,
        "problems": problems,
        "sync_age_seconds": None if age is None else round(age, 3),
        "sync_deadline_seconds": deadline,
        "connected": matrix.connected,
        "database": database,
    }
    return not problems, report


class MetricsUpdater:
    """Copies the running totals kept by the client and the translator into Prometheus."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._seen: dict[tuple[str, ...], float] = {}

    def update(self, now: float | None = None) -> None:
        services = self.services
        metrics = services.metrics
        now = time.monotonic() if now is None else now
        last = services.matrix.last_sync_at
        # before the first sync the lag counts from start, not from the epoch
        metrics.sync_lag.set(0.0 if last is None else max(0.0, now - last))
        metrics.scheduler_jobs.set(services.scheduler.job_count())
        stats = services.matrix.stats
        self._advance(metrics.send_retries, ("send_retries",), stats.retries)
        self._advance(metrics.rate_limited, ("rate_limited",), stats.rate_limited)
        if services.translation is not None:
            for engine, engine_stats in services.translation.stats.items():
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


def install(services: Services, add_listener: Callable[[Listener], None]) -> None:
    """Add ``/health`` and ``/metrics`` to the web server, when there is one."""
    if services.web is None:
        return
    updater = MetricsUpdater(services)

    async def health(request: web.Request) -> web.Response:
        healthy, report = check(services)
        if not healthy:
            log.warning("health check failed: %s", report["reason"])
        return web.Response(
            text=json.dumps(report),
            status=200 if healthy else 503,
            content_type="application/json",
        )

    async def metrics(request: web.Request) -> web.Response:
        updater.update()
        return web.Response(
            body=services.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    services.web.add_get("/health", health)  # type: ignore[arg-type]
    services.web.add_get("/metrics", metrics)  # type: ignore[arg-type]
