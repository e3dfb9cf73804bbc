"""What the bot keeps and for how long, on real SQLite files: the translation cache's rules,
CSV cells that never start a formula, events whose key came late, a damaged file seen by
/health, and the database encrypted at rest with SQLCipher (migrate, backup, export)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import cli
from bot.aid import render
from bot.app import Application
from bot.core.config import RetentionConfig, WebConfig, from_dict
from bot.core.health import Health
from bot.core.matrix.intake import IncomingEvent
from bot.core.matrix.latekeys import LateKeys
from bot.core.metrics import Metrics
from bot.core.retention import JOB, Retention
from bot.core.scheduler import Scheduler
from bot.core.storage import ledger, maintenance
from bot.core.storage.database import Database, DatabaseKeyError, utcnow
from bot.core.tasks import TaskSpawner
from bot.core.web import WebServer
from bot.translation import feature as cache_feature
from bot.translation import store as cache
from bot.translation.base import Translator
from bot.translation.service import TranslationService
from tests.support.fakematrix import FakeMatrix
from tests.support.schema import ALL_MIGRATIONS

# ---- the translation cache --------------------------------------------------------------------


class Echo(Translator):
    name = "echo"

    async def pairs(self) -> set[tuple[str, str]]:
        return {("fr", "es")}

    async def translate(self, text: str, source: str, target: str) -> str:
        return f"[es] {text}"


async def test_private_text_is_never_cached_and_authors_can_be_forgotten(
    fresh_db: Database,
) -> None:
    service = TranslationService([Echo()], fresh_db, timeout=5, cache_days=30)
    await service.translate("la réunion publique", "fr", "es", author="@ana:x")
    await service.translate("le secret de bob", "fr", "es", author="@bob:x")
    await service.translate("une demande privée", "fr", "es", author="@ana:x", remember=False)
    service.flush_cache()
    kept = {r["translation"] for r in fresh_db.query("SELECT translation FROM translation_cache")}
    assert kept == {"[es] la réunion publique", "[es] le secret de bob"}
    assert service.forget_author("@ana:x") == 1
    kept = {r["translation"] for r in fresh_db.query("SELECT translation FROM translation_cache")}
    assert kept == {"[es] le secret de bob"}
    assert service.forget_texts(["le secret de bob"]) == 1
    assert fresh_db.query("SELECT * FROM translation_cache") == []
    assert fresh_db.query("SELECT * FROM translation_cache_authors") == []


async def test_the_cache_expires_and_the_retention_job_remembers_its_last_run(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "liaison.db")
    db.migrate(ALL_MIGRATIONS)
    service = TranslationService([Echo()], db, timeout=5, cache_days=30)
    await service.translate("ancien", "fr", "es", author="@ana:x")
    await service.translate("récent", "fr", "es", author="@ana:x")
    service.flush_cache()
    old = (utcnow() - timedelta(days=31)).isoformat(timespec="seconds")
    db.execute(
        "UPDATE translation_cache SET created_at = ? WHERE translation LIKE '%ancien'", (old,)
    )
    # an expired entry is not used even before the job erases it
    assert cache.get_entry(db, "ancien", "fr", "es", "echo", utcnow() - service.retention) is None
    assert cache.get_entry(db, "récent", "fr", "es", "echo", utcnow() - service.retention)
    keeping = cache_feature.CacheKeeping(service)
    retention = Retention(db, RetentionConfig(batch_pause_seconds=0), [keeping.pruner()])
    assert maintenance.last_run(db, JOB) is None
    run = await retention.run()
    assert run.erased["translation_cache"] == 1
    assert maintenance.last_run(db, JOB) is not None
    left = [r["translation"] for r in db.query("SELECT translation FROM translation_cache")]
    assert left == ["[es] récent"]
    db.close()


# ---- CSV exports --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        '=HYPERLINK("https://evil.example","click")',
        "+1+2",
        "-2+3",
        "@SUM(A1)",
        "\tcmd",
        "\rcmd",
    ],
)
def test_a_cell_that_would_start_a_formula_is_plain_text(cell: str) -> None:
    row = dict.fromkeys(render.CSV_COLUMNS, "")
    row["description"] = cell
    data = render.csv_bytes([row]).decode("utf-8-sig")
    (read,) = list(csv.DictReader(io.StringIO(data)))
    assert read["description"] == "'" + cell


def test_ordinary_cells_are_untouched() -> None:
    row = dict.fromkeys(render.CSV_COLUMNS, "")
    row["description"] = "Bed for two = urgent"
    (read,) = list(csv.DictReader(io.StringIO(render.csv_bytes([row]).decode("utf-8-sig"))))
    assert read["description"] == "Bed for two = urgent"


# ---- late room keys -----------------------------------------------------------------------------


class Decrypting(FakeMatrix):
    """Decrypts an event once its key is "known" (the test says which sessions are)."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: set[str] = set()
        self.requested: list[str] = []

    def decrypt(self, room_id: str, source: dict[str, Any]) -> dict[str, Any] | None:
        if source["content"]["session_id"] not in self.keys:
            return None
        return {**source, "type": "m.room.message", "content": {"msgtype": "m.text", "body": "hi"}}

    async def request_room_key(self, room_id: str, source: dict[str, Any]) -> bool:
        self.requested.append(source["content"]["session_id"])
        return True


def encrypted(event_id: str, session: str, age: timedelta) -> IncomingEvent:
    sent = int((datetime.now(UTC) - age).timestamp() * 1000)
    source = {
        "event_id": event_id,
        "sender": "@ana:x",
        "type": "m.room.encrypted",
        "origin_server_ts": sent,
        "content": {"algorithm": "m.megolm.v1.aes-sha2", "session_id": session},
        "liaison_undecryptable": True,
    }
    return IncomingEvent.from_source("!r:x", source)


async def test_late_events_are_handled_once_for_what_they_are_still_fresh_enough_for(
    fresh_db: Database,
) -> None:
    matrix = Decrypting()
    metrics = Metrics()
    tasks = TaskSpawner()
    config = from_dict(
        {"matrix": {"homeserver": "http://x", "user_id": "@l:x", "password": "p"}}, environ={}
    ).matrix
    late = LateKeys(fresh_db, matrix, tasks, metrics, config)  # type: ignore[arg-type]
    fresh = encrypted("$fresh", "s1", timedelta(minutes=5))
    middling = encrypted("$middling", "s2", timedelta(hours=3))
    stale = encrypted("$stale", "s3", timedelta(hours=30))
    for event in (fresh, middling, stale):
        ledger.accept_batch(fresh_db, [ledger.InboxEvent("!r:x", event.source)], "t")
        assert late.park(event) is None
    await tasks.drain(timeout=5)
    assert sorted(matrix.requested) == ["s1", "s2", "s3"]
    assert ledger.pending(fresh_db) == []  # kept aside, not replayed as they are

    matrix.keys |= {"s1", "s2", "s3"}
    ready = {e.event_id: e for e in late.retry(["s1", "s2", "s3"])}
    assert set(ready) == {"$fresh", "$middling"}
    assert ready["$fresh"].allows("command")
    assert ready["$fresh"].allows("relay")
    assert not ready["$middling"].allows("command")  # too late for a command...
    assert ready["$middling"].allows("relay")  # ... not for the relay
    # once: another pass (another key arriving, a restart) finds nothing more
    assert late.retry(None) == []
    # they wait in the inbox until handled, so a crash replays them, marked as late
    assert {e.source["event_id"] for e in ledger.pending(fresh_db)} == {"$fresh", "$middling"}
    assert fresh_db.query("SELECT * FROM undecrypted") == []
    dropped = metrics.late_events.labels("dropped")._value.get()
    assert dropped == 1


async def test_an_event_whose_key_never_comes_is_dropped_past_every_window(
    fresh_db: Database,
) -> None:
    config = from_dict(
        {"matrix": {"homeserver": "http://x", "user_id": "@l:x", "password": "p"}}, environ={}
    ).matrix
    late = LateKeys(fresh_db, Decrypting(), TaskSpawner(), Metrics(), config)  # type: ignore[arg-type]
    ledger.park(
        fresh_db,
        "!r:x",
        encrypted("$old", "s9", timedelta(hours=25)).source,
        utcnow() - timedelta(hours=25),
    )
    ledger.park(
        fresh_db,
        "!r:x",
        encrypted("$new", "s8", timedelta(hours=1)).source,
        utcnow() - timedelta(hours=1),
    )
    assert late.expire() == 1
    assert [r["event_id"] for r in fresh_db.query("SELECT event_id FROM undecrypted")] == ["$new"]


# ---- /health on a damaged file ------------------------------------------------------------------


def damaged_copy(tmp_path: Path) -> Path:
    """A real database with rows, then 16 KiB of garbage written over its pages."""
    db = Database(tmp_path / "liaison.db")
    db.migrate(ALL_MIGRATIONS)
    for n in range(400):
        db.execute(
            "INSERT INTO rooms (room_id, joined_at, language) VALUES (?, '2026-01-01', 'fr')",
            (f"!room{n}:example.org",),
        )
    db.checkpoint()
    db.close()
    path = tmp_path / "liaison.db"
    with path.open("r+b") as handle:
        handle.seek(8192)
        handle.write(b"\xde\xad\xbe\xef" * 4096)
    return path


async def test_health_reports_a_damaged_database_with_the_reason(tmp_path: Path) -> None:
    path = damaged_copy(tmp_path)
    db = Database(path)
    matrix = FakeMatrix()
    matrix.last_sync_at = time.monotonic()
    health = Health(matrix, db, Scheduler(), Metrics(), None, sync_timeout_ms=30000)  # type: ignore[arg-type]
    web = WebServer(WebConfig())
    health.add_routes(web)
    assert await health.check_integrity()
    async with TestClient(TestServer(web.app)) as client:
        response = await client.get("/health")
        report = await response.json()
    assert response.status == 503
    assert report["status"] == "unhealthy"
    assert "database: damaged" in report["reason"]
    db.close()


async def test_health_is_ok_on_a_sound_database(tmp_path: Path) -> None:
    db = Database(tmp_path / "sound.db")
    db.migrate(ALL_MIGRATIONS)
    matrix = FakeMatrix()
    matrix.last_sync_at = time.monotonic()
    health = Health(matrix, db, Scheduler(), Metrics(), None, sync_timeout_ms=30000)  # type: ignore[arg-type]
    assert await health.check_integrity() == []
    healthy, report = health.check()
    assert healthy, report
    db.close()


# ---- SQLCipher ----------------------------------------------------------------------------------

KEY = "correct horse battery staple"


def encrypted_config(tmp_path: Path, key: str = KEY) -> Any:
    return from_dict(
        {
            "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@l:x", "password": "p"},
            "storage": {"data_dir": str(tmp_path / "data"), "encrypted": True},
            "bot": {"admins": ["@admin:x"]},
            "translation": {"engines": []},
        },
        environ={"LIAISON_DATABASE_KEY": key},
    )


def test_an_encrypted_database_migrates_backs_up_and_exports_with_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("sqlcipher3")
    config = encrypted_config(tmp_path)
    app = Application(config, matrix=FakeMatrix())  # type: ignore[arg-type]
    app.db.migrate(app.migrations)
    app.db.execute(
        "INSERT INTO rooms (room_id, joined_at, language) VALUES ('!secret-room:x', '2026', 'fr')"
    )
    app.db.checkpoint()
    app.db.close()
    path = config.storage.database
    assert b"secret-room" not in path.read_bytes()
    assert b"SQLite format 3" not in path.read_bytes()[:16]
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(path).execute("SELECT * FROM rooms").fetchall()
    with pytest.raises(DatabaseKeyError):
        Database(path, key="not the key at all")

    # the operator's commands work with the key from the environment
    monkeypatch.setenv("LIAISON_DATABASE_KEY", KEY)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        json.dumps(
            {
                "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@l:x", "password": "p"},
                "storage": {"data_dir": str(tmp_path / "data"), "encrypted": True},
                "bot": {"admins": ["@admin:x"]},
                "translation": {"engines": []},
            }
        )
    )
    assert cli.main(["migrate", "-c", str(config_file)]) == 0
    assert "schema version" in capsys.readouterr().out
    backup = tmp_path / "copy.db"
    assert cli.main(["backup", "-c", str(config_file), str(backup)]) == 0
    assert b"secret-room" not in backup.read_bytes()
    copy = Database(backup, key=KEY)
    assert copy.query_one("SELECT language FROM rooms WHERE room_id = '!secret-room:x'") == {
        "language": "fr"
    }
    copy.close()
    exported = tmp_path / "export.json"
    assert cli.main(["export", "-c", str(config_file), str(exported)]) == 0
    assert json.loads(exported.read_text())["missing"] == []
    # without the key, the commands refuse clearly
    monkeypatch.setenv("LIAISON_DATABASE_KEY", "a wrong key, long enough")
    assert cli.main(["migrate", "-c", str(config_file)]) == 1
    assert "cannot be opened with this key" in capsys.readouterr().err


async def test_with_the_cache_turned_off_what_it_kept_is_still_forgotten(tmp_path: Path) -> None:
    """An operator may turn the cache off after it has kept translations: ``!forget me`` and
    the retention job still reach those rows."""
    config = from_dict(
        {
            "matrix": {
                "homeserver": "http://127.0.0.1:1",
                "user_id": "@liaison:x",
                "password": "x",
            },
            "storage": {"data_dir": str(tmp_path)},
            "translation": {"cache": False},
        },
        environ={},
    )
    app = Application(config, matrix=FakeMatrix())  # type: ignore[arg-type]
    app.db.migrate(app.migrations)
    earlier = TranslationService([Echo()], app.db, timeout=5, cache_days=30)  # the cache was on
    await earlier.translate("le message d'ana", "fr", "es", author="@ana:x")
    earlier.flush_cache()

    report = app.data_rights.forget("@ana:x")

    assert report.erased["cached translations of your messages"] == 1
    assert app.db.query("SELECT * FROM translation_cache") == []
    assert any(p.name == "translation_cache" for f in app.features for p in f.pruners)
    app.db.close()
