"""Retention: each table that grows with traffic is pruned past its horizon, a batch at a time,
without holding the event loop, and the database file gives the space back."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

from bot.core.config import RetentionConfig
from bot.core.retention import EARLIER_JOBS, JOB, Pruner, Retention
from bot.core.scheduler import Scheduler
from bot.core.storage import ledger, maintenance
from bot.core.storage.database import Database, iso, utcnow
from bot.relay import store as relay_store
from bot.translation import feature as cache_feature
from bot.translation import store as cache
from bot.translation.service import TranslationService
from tests.support.schema import ALL_MIGRATIONS

OLD = 1200  # rows of each kind past their horizon
NEW = 30  # rows of each kind still within it


def filled(path: Path) -> Database:
    """A database with old and recent ledger rows, relayed messages and cached translations."""
    db = Database(path)
    db.migrate(ALL_MIGRATIONS)
    long_ago = iso(utcnow() - timedelta(days=200))
    recent = iso(utcnow() - timedelta(hours=1))
    padding = "x" * 400  # so the erased rows take pages worth giving back
    with db.transaction():
        for i in range(OLD + NEW):
            when = long_ago if i < OLD else recent
            db.execute(
                "INSERT INTO inbox (event_id, room_id, source, received_at, done_at)"
                " VALUES (?, '!r:x', NULL, ?, ?)",
                (f"$in{i}:{padding}", when, when),
            )
            db.execute(
                "INSERT INTO relay_sources (event_id, room_id, sender, grp, kind, created_at)"
                " VALUES (?, '!fr:x', '@ana:x', 'g', 'message', ?)",
                (f"$src{i}", when),
            )
            for room in ("!es:x", "!en:x"):
                db.execute(
                    "INSERT INTO relay_copies (source_event_id, room_id, event_id, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (f"$src{i}", room, f"$copy{i}{room}:{padding}", when),
                )
            db.execute(
                "INSERT INTO translation_cache"
                " (text_hash, source, target, engine, translation, pivot, created_at)"
                " VALUES (?, 'fr', 'es', 'apertium', ?, NULL, ?)",
                (f"h{i}", f"traducción {i} {padding}", when),
            )
            db.execute(
                "INSERT INTO translation_cache_authors (text_hash, author, created_at)"
                " VALUES (?, '@ana:x', ?)",
                (f"h{i}", when),
            )
        # an event accepted long ago and never handled: the ledger keeps it whatever its age
        db.execute(
            "INSERT INTO inbox (event_id, room_id, source, received_at) VALUES"
            " ('$unhandled', '!r:x', '{}', ?)",
            (long_ago,),
        )
    db.checkpoint()
    return db


def retention_of(db: Database, **config: object) -> Retention:
    settings = RetentionConfig(
        **{"relay_map_days": 90, "batch_rows": 100, "batch_pause_seconds": 0, **config}  # type: ignore[arg-type]
    )
    service = TranslationService([], db, timeout=5, cache_days=30)
    keeping = cache_feature.CacheKeeping(service)
    relay_map = relay_store.prune_map
    return Retention(
        db,
        settings,
        [
            keeping.pruner(),
            Pruner("relay_map", settings.relay_map, lambda cutoff, n: relay_map(db, cutoff, n)),
        ],
    )


def wal_size(path: Path) -> int:
    return Path(str(path) + "-wal").stat().st_size


def count(db: Database, table: str) -> int:
    row = db.query_one(f"SELECT count(*) AS n FROM {table}")  # noqa: S608
    assert row is not None
    return int(row["n"])


async def test_everything_past_its_horizon_goes_in_batches_and_the_file_shrinks(
    tmp_path: Path,
) -> None:
    db = filled(tmp_path / "liaison.db")
    assert db.incremental
    retention = retention_of(db)
    before = db.size_bytes()

    # a neighbour on the event loop gets its turn between every two batches
    turns = 0
    done = asyncio.Event()

    async def neighbour() -> None:
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(neighbour())
    run = await retention.run()
    done.set()
    await other

    assert count(db, "inbox") == NEW + 1
    assert ledger.pending(db)[0].source == {}  # the unhandled event is still there
    assert count(db, "relay_sources") == NEW
    assert count(db, "relay_copies") == 2 * NEW
    assert count(db, "translation_cache") == NEW
    assert count(db, "translation_cache_authors") == NEW
    assert run.erased == {
        "inbox": OLD,
        "translation_cache": 2 * OLD,
        "relay_map": 3 * OLD,
    }
    # 100 rows a batch: many short writes, each followed by a turn of the event loop
    assert run.batches >= OLD // 100 * 3
    assert turns >= run.batches - 3
    assert run.failed == []
    # the erased pages went back to the filesystem, and the log was emptied
    assert db.free_pages() == 0
    assert run.size_after < before * 0.3, (before, run.size_after)
    assert wal_size(tmp_path / "liaison.db") == 0
    # the recent rows still work: a cached translation, a copy found from its original
    assert cache.get_cached(db, "anything", "fr", "es", "apertium") is None
    assert relay_store.copy_in(db, f"$src{OLD}", "!es:x") is not None
    assert relay_store.copy_in(db, "$src0", "!es:x") is None
    horizon = relay_store.pruned_before(db)
    assert horizon is not None
    assert utcnow() - timedelta(days=91) < horizon < utcnow() - timedelta(days=89)
    assert maintenance.last_run(db, JOB) is not None

    # a second run finds nothing more to erase
    again = await retention.run()
    assert again.erased == {"inbox": 0, "translation_cache": 0, "relay_map": 0}
    db.close()


async def test_a_locked_database_stops_the_run_and_the_next_one_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "liaison.db"
    db = filled(path)
    db.execute("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    retention = retention_of(db)
    run = await retention.run()
    assert set(run.failed) == {"inbox", "translation_cache", "relay_map"}
    assert count(db, "inbox") == OLD + NEW + 1  # nothing half-done
    other.execute("ROLLBACK")
    other.close()
    db.execute(f"PRAGMA busy_timeout = {db.busy_timeout_ms}")
    run = await retention.run()
    assert run.failed == []
    assert count(db, "inbox") == NEW + 1
    db.close()


async def test_the_job_is_due_a_period_after_its_last_run_even_the_earlier_cache_job(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "liaison.db")
    db.migrate(ALL_MIGRATIONS)
    retention = retention_of(db)
    scheduler = Scheduler()
    scheduler._aps.start(paused=True)
    try:
        retention.schedule(scheduler)
        first = scheduler.next_run(JOB)
        assert first is not None
        assert first <= utcnow() + timedelta(seconds=5)  # never ran: due now
        # a database that last pruned its cache with the earlier daily job, an hour ago
        maintenance.record_run(db, EARLIER_JOBS[0], utcnow() - timedelta(hours=1))
        retention.schedule(scheduler)
        due = scheduler.next_run(JOB)
        assert due is not None
        assert timedelta(hours=22) < due - utcnow() < timedelta(hours=24)
    finally:
        scheduler.shutdown()
        db.close()


def test_a_file_made_before_incremental_vacuum_is_converted_once(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("y" * 500,) for _ in range(500)])
    conn.commit()
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    conn.close()
    db = Database(path)
    assert not db.incremental  # opening alone changes nothing
    assert db.make_incremental()
    assert db.incremental
    assert count(db, "t") == 500
    db.execute("DELETE FROM t")
    assert db.incremental_vacuum(10_000) > 0
    assert db.free_pages() == 0
    db.close()
