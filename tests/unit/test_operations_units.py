"""Operations without a homeserver: export, the forget registry, health verdicts, metrics, logs."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import stat
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import operations
from bot.core import health
from bot.core.config import Config, from_dict
from bot.core.logsetup import JsonFormatter, SecretFilter, configure, redact
from bot.core.matrix.client import SendStats
from bot.core.metrics import Metrics
from bot.core.storage.database import Database
from bot.translation.service import EngineStats


def make_config(tmp_path: Path, **bot: Any) -> Config:
    return from_dict(
        {
            "matrix": {
                "homeserver": "https://matrix.example.org",
                "user_id": "@liaison:example.org",
                "password": "pw",
            },
            "storage": {"data_dir": str(tmp_path / "data")},
            "bot": bot,
        },
        environ={},
    )


def domain(name: str, **attrs: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


# ---- export ----------------------------------------------------------------------------------


def aid_rows(db: Database, viewers: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    rows = db.query("SELECT id, title, visible_to FROM aid ORDER BY id")
    return {"aid_requests": [r for r in rows if r["visible_to"] in viewers or not r["visible_to"]]}


def fill(db: Database) -> None:
    db.execute("CREATE TABLE places (id INTEGER PRIMARY KEY, name TEXT, note TEXT)")
    db.execute("INSERT INTO places (name, note) VALUES ('Salle Nour', 'رقم ٣')")
    db.execute("CREATE TABLE aid (id INTEGER PRIMARY KEY, title TEXT, visible_to TEXT)")
    db.execute("INSERT INTO aid (title, visible_to) VALUES ('rent', NULL)")
    db.execute("INSERT INTO aid (title, visible_to) VALUES ('lawyer', '@coord:example.org')")
    db.execute("INSERT INTO aid (title, visible_to) VALUES ('visa', '@admin:example.org')")


def test_export_uses_domain_hooks_falls_back_to_tables_and_names_what_is_missing(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "x.db")
    fill(db)
    document = operations.export_database(
        db, ["@admin:example.org"], domains=[domain("bot.storage.aidfake", export_rows=aid_rows)]
    )
    assert document["format"] == "liaison-export"
    assert [r["title"] for r in document["data"]["aid_requests"]] == ["rent", "visa"]
    assert document["sources"]["aid_requests"] == "bot.storage.aidfake.export_rows"
    assert document["data"]["places"] == [{"id": 1, "name": "Salle Nour", "note": "رقم ٣"}]
    assert document["sources"]["places"] == "table places"
    # nothing holds events or schedules here: the export says so instead of pretending
    assert [m.split(":")[0] for m in document["missing"]] == ["events", "schedules"]


def test_aid_requests_are_never_exported_from_raw_tables(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    fill(db)
    db.execute("CREATE TABLE aid_requests (id INTEGER PRIMARY KEY, secret TEXT)")
    document = operations.export_database(db, ["@admin:example.org"], domains=[])
    assert "aid_requests" not in document["data"]
    assert any(m.startswith("aid_requests:") for m in document["missing"])


def test_write_export_round_trips_and_is_private(tmp_path: Path) -> None:
    config = make_config(tmp_path, admins=["@admin:example.org"])
    db = Database(config.storage.database)
    db.migrate()
    db.execute("CREATE TABLE IF NOT EXISTS schedules_extra (id INTEGER PRIMARY KEY, cron TEXT)")
    db.close()
    target = operations.write_export(config, tmp_path / "out" / "export.json")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["viewers"] == ["@admin:example.org"]
    assert document["schema_version"] >= 1
    assert json.loads(operations.export_json(config))["data"] == document["data"]


def test_two_domains_claiming_one_section_is_an_error(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")

    def rows(db: Database, viewers: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
        return {"places": []}

    with pytest.raises(ValueError, match="places"):
        operations.export_database(
            db,
            [],
            domains=[
                domain("bot.storage.a", export_rows=rows),
                domain("bot.storage.b", export_rows=rows),
            ],
        )


def test_storage_domains_are_discovered_by_module_name() -> None:
    names = [m.__name__ for m in operations.storage_domains()]
    assert "bot.core.storage.rooms" in names
    assert "bot.core.storage.operations" in names
    assert "bot.core.config" not in names


# ---- forget registry ---------------------------------------------------------------------------


def test_forget_calls_every_domain_that_can_forget(fresh_db: Database) -> None:
    calls: list[tuple[str, str]] = []

    def rsvps(db: Database, user_id: str) -> dict[str, int]:
        calls.append(("rsvps", user_id))
        return {"RSVPs": 2}

    def offers(db: Database, user_id: str) -> dict[str, int]:
        calls.append(("offers", user_id))
        return {"standing offers": 1, "RSVPs": 1}

    report = operations.forget_user(
        fresh_db,
        "@ana:example.org",
        domains=[
            domain("bot.gatherings.store", forget_user=rsvps),
            domain("bot.core.storage.rooms"),
            domain("bot.aid.store", forget_user=offers, FORGET_KEEPS=("Anonymised aid records.",)),
        ],
    )
    assert calls == [("rsvps", "@ana:example.org"), ("offers", "@ana:example.org")]
    assert report.erased == {"RSVPs": 3, "standing offers": 1}
    assert report.kept == ("Anonymised aid records.",)
    assert report.total == 4


# ---- health ----------------------------------------------------------------------------------


def fake_services(tmp_path: Path, *, last_sync_at: float | None, connected: bool) -> Any:
    db = Database(tmp_path / "h.db")
    db.migrate()
    return SimpleNamespace(
        config=make_config(tmp_path),
        db=db,
        matrix=SimpleNamespace(last_sync_at=last_sync_at, connected=connected, stats=SendStats()),
        scheduler=SimpleNamespace(job_count=lambda: 3),
        metrics=Metrics(),
        translation=None,
    )


def test_health_is_ok_after_a_recent_sync_and_writes_the_probe(tmp_path: Path) -> None:
    services = fake_services(tmp_path, last_sync_at=100.0, connected=True)
    healthy, report = health.check(services, now=110.0)
    assert healthy
    assert report["status"] == "ok"
    assert report["reason"] is None
    assert report["sync_age_seconds"] == 10.0
    assert services.db.query_one("SELECT checked_at FROM health")["checked_at"]


@pytest.mark.parametrize(
    ("last_sync_at", "connected", "now", "reason"),
    [
        (None, False, 5.0, "sync: no successful sync with the homeserver yet"),
        (100.0, False, 103.0, "sync: the homeserver is unreachable (last good sync 3 s ago)"),
        (100.0, True, 200.0, "sync: last good sync 100 s ago (limit 75 s)"),
    ],
)
def test_health_names_the_sync_problem(
    tmp_path: Path, last_sync_at: float | None, connected: bool, now: float, reason: str
) -> None:
    services = fake_services(tmp_path, last_sync_at=last_sync_at, connected=connected)
    healthy, report = health.check(services, now=now)
    assert not healthy
    assert report["reason"] == reason


def test_health_fails_when_the_database_cannot_be_written(tmp_path: Path) -> None:
    services = fake_services(tmp_path, last_sync_at=100.0, connected=True)
    services.db.close()
    healthy, report = health.check(services, now=101.0)
    assert not healthy
    assert report["reason"].startswith("database: not writable (ProgrammingError")


def test_metrics_copy_running_totals_without_counting_twice(tmp_path: Path) -> None:
    services = fake_services(tmp_path, last_sync_at=100.0, connected=True)
    services.translation = SimpleNamespace(stats={"apertium": EngineStats(calls=4, failures=1)})
    updater = health.MetricsUpdater(services)
    services.matrix.stats.retries = 2
    services.matrix.stats.rate_limited = 1
    updater.update(now=107.5)
    updater.update(now=107.5)
    services.matrix.stats.retries = 5
    services.translation.stats["apertium"].cache_hits = 6
    updater.update(now=108.0)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(services.metrics.render().decode())
        for s in family.samples
    }
    assert samples[("liaison_send_retries_total", ())] == 5
    assert samples[("liaison_send_rate_limited_total", ())] == 1
    assert samples[("liaison_sync_lag_seconds", ())] == 8.0
    assert samples[("liaison_scheduler_jobs", ())] == 3
    key = "liaison_translation_calls_total"
    assert samples[(key, (("engine", "apertium"), ("result", "call")))] == 4
    assert samples[(key, (("engine", "apertium"), ("result", "failure")))] == 1
    assert samples[(key, (("engine", "apertium"), ("result", "cache_hit")))] == 6


def test_install_adds_nothing_without_a_web_server(tmp_path: Path) -> None:
    services = fake_services(tmp_path, last_sync_at=None, connected=False)
    services.web = None
    health.install(services, lambda listener: None)  # must not fail


# ---- logs ------------------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Any:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_logs_are_one_object_per_line_with_extras(restore_logging: Any) -> None:
    stream = io.StringIO()
    configure("INFO", "json", stream=stream)
    log = logging.getLogger("bot.test")
    log.info("handled room=%s", "!r:x", extra={"family": "room", "outcome": "ok"})
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        log.exception("failed")
    log.debug("not at INFO")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "handled room=!r:x"
    assert first["family"] == "room"
    assert first["outcome"] == "ok"
    assert first["level"] == "INFO"
    assert "RuntimeError: boom" in second["exception"]


def test_tokens_are_masked_in_log_lines() -> None:
    line = (
        "GET /_matrix/client/v3/sync?access_token=syt_abc123&since=s1 Authorization: Bearer syt_xyz"
    )
    assert redact(line) == (
        "GET /_matrix/client/v3/sync?access_token=<redacted>&since=s1 Authorization: Bearer <redacted>"
    )
    record = logging.LogRecord(
        "nio", logging.WARNING, "", 0, "url %s", ("?access_token=sekrit",), None
    )
    SecretFilter().filter(record)
    assert "sekrit" not in JsonFormatter().format(record)


def test_export_prefers_the_domain_listing_and_never_exports_tokens(tmp_path: Path) -> None:
    @dataclasses.dataclass(frozen=True)
    class Place:
        id: str
        name: str

    def listing(db: Database) -> list[Place]:
        return [Place("nour", "Salle Nour")]

    db = Database(tmp_path / "x.db")
    db.execute("CREATE TABLE gathering_feeds (scope TEXT, feed_token TEXT)")
    db.execute("INSERT INTO gathering_feeds VALUES ('room', 'capability-secret')")
    document = operations.export_database(
        db, [], domains=[domain("bot.places.store", listing=listing)]
    )
    assert document["data"]["places"] == [{"id": "nour", "name": "Salle Nour"}]
    assert document["sources"]["places"].endswith(".listing")
    assert document["data"]["events"] == [{"scope": "room"}]
    assert "capability-secret" not in json.dumps(document)
