"""Benchmark 4: event-loop lag while 200 translations are in flight through a slow engine.

The engine is a separate process answering every translation after 200 ms, spoken to through
the Apertium adapter (aiohttp) and through deep-translator's blocking LibreTranslate path
(worker threads). The bot's TranslationService is built from a config as ``liaison run``
builds it (cache on, every text distinct, so each one reaches the engine). A ticker task
sleeps 10 ms over and over and records how late it wakes. Floor: the same ticker on the same
loop with nothing in flight. Start-up's objects are frozen out of the garbage collector's
full passes before the measure, as the bot does once started (``heap.settle``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core import heap
from bot.core.config import from_dict
from bot.core.storage.database import Database
from bot.translation.service import build_translation_service
from tests.benchmarks.measure import Results, percentile, size, strict
from tests.benchmarks.scenario import texts
from tests.support.schema import ALL_MIGRATIONS

TARGET_MS = 10.0
TICK = 0.01
FLOOR_SECONDS = 2.0  # how long the idle-loop floor is measured
DELAY_MS = 200


@pytest.fixture
async def slow_engine() -> AsyncIterator[str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.benchmarks.slow_engine", str(DELAY_MS),
        stdout=asyncio.subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        port = int((await asyncio.wait_for(proc.stdout.readline(), 30)).decode())
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


class Ticker:
    """How late a 10 ms sleep wakes up, sample after sample."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(TICK)
            self.lags.append(max(0.0, time.perf_counter() - began - TICK))

    def start(self) -> None:
        self.lags = []
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> list[float]:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        return self.lags


def lag_line(name: str, lags: list[float], extra: str = "") -> str:
    return (
        f"{name}: lag p50 {percentile(lags, 50) * 1000:.2f} / p99 {percentile(lags, 99) * 1000:.2f}"
        f" / max {max(lags) * 1000:.1f} ms (n={len(lags)}){extra}"
    )


async def test_event_loop_lag(slow_engine: str, tmp_path: Path, results: Results) -> None:
    count = size("LAG_TRANSLATIONS", 200, 200)
    ticker = Ticker()
    ticker.start()
    await asyncio.sleep(FLOOR_SECONDS)  # the floor: the same ticker on an idle loop
    floor = await ticker.stop()

    figure = results.figure(
        f"4. Event-loop lag, {count} translations in flight ({DELAY_MS} ms engine)"
    )
    figure.add(lag_line("floor, idle loop", floor))
    worst = 0.0
    variety = texts("fr", 200) + texts("es", 200)
    for engine in ("apertium", "libre"):
        config = from_dict(
            {
                "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@bench:localhost"},
                "translation": {
                    "engines": [engine],
                    engine: {"url": slow_engine},
                    "timeout_seconds": 120,
                    "max_concurrency": 16,
                    "detect": False,
                },
            },
            environ={"LIAISON_PASSWORD": "-"},
        )
        db = Database(tmp_path / f"{engine}.db")
        db.migrate(ALL_MIGRATIONS)
        service = build_translation_service(config.translation, db)
        await service.supported_targets()  # the pair list, fetched once
        heap.settle()  # as the bot does once started (bot.core.runtime)
        # the Apertium adapter is done in a blink: a few waves, for enough ticks
        waves = size("LAG_WAVES", 5, 3) if engine == "apertium" else 1
        ticker.start()
        began = time.perf_counter()
        outcomes = []
        for wave in range(waves):
            outcomes += await asyncio.gather(
                *(
                    service.translate(f"{variety[i % 400]} ({wave}.{i})", "fr", "es")
                    for i in range(count)
                )
            )
        elapsed = time.perf_counter() - began
        lags = await ticker.stop()
        await service.aclose()
        db.close()
        assert all(o.translated and not o.failed for o in outcomes), engine
        label = "Apertium adapter" if engine == "apertium" else "deep-translator libre (threads)"
        done = f", {waves} x {count} done in {elapsed:.1f} s"
        figure.add(lag_line(label, lags, done))
        worst = max(worst, percentile(lags, 99) * 1000)
    figure.verdict(f"p99 lag <= {TARGET_MS:g} ms", worst <= TARGET_MS)
    sys.stdout.write("\n" + figure.text() + "\n")
    if strict():
        assert worst <= TARGET_MS, figure.text()
