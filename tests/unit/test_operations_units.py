"""Operations without a homeserver: export, the forget registry, health verdicts, metrics, logs."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import stat
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Application
from bot.core.config import Config, from_dict
from bot.core.datarights import DataRights
from bot.core.errors import CommandError
from bot.core.feature import Feature
from bot.core.health import Health
from bot.core.logsetup import JsonFormatter, SecretFilter, configure, redact
from bot.core.matrix.client import SendStats
from bot.core.metrics import Metrics
from bot.core.storage.database import Database
from bot.gatherings.service import Gatherings
from bot.translation.service import EngineStats
from tests.support.schema import ALL_MIGRATIONS


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


def feature(name: str, **declared: Any) -> Feature:
    return Feature(name=name, **declared)


# ---- export ----------------------------------------------------------------------------------


def fill(db: Database) -> None:
    db.execute("CREATE TABLE aid (id INTEGER PRIMARY KEY, title TEXT, visible_to TEXT)")
    db.execute("INSERT INTO aid (title, visible_to) VALUES ('rent', NULL)")
    db.execute("INSERT INTO aid (title, visible_to) VALUES ('lawyer', '@coord:example.org')")
    db.execute("INSERT INTO aid (title, visible_to) VALUES ('visa', '@admin:example.org')")


def aid_feature(db: Database) -> Feature:
    def rows(viewers: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        found = db.query("SELECT id, title, visible_to FROM aid ORDER BY id")
        return {
            "aid_requests": [r for r in found if r["visible_to"] in viewers or not r["visible_to"]]
        }

    return feature("aid", export=rows, export_sections=("aid_requests",))


def test_export_takes_what_each_feature_declares_and_names_what_failed(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    fill(db)

    def broken(viewers: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        raise sqlite3.OperationalError("no such table: gatherings")

    rights = DataRights(
        db, [aid_feature(db), feature("gatherings", export=broken, export_sections=("events",))]
    )
    document = rights.export(["@admin:example.org"])
    assert document["format"] == "liaison-export"
    assert [r["title"] for r in document["data"]["aid_requests"]] == ["rent", "visa"]
    assert document["sources"]["aid_requests"] == "aid"
    # a feature that could not read its rows is named instead of pretending
    assert [m.split(":")[0] for m in document["missing"]] == ["events"]
    assert "events" not in document["data"]


def test_tables_no_feature_declares_are_never_exported(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")
    fill(db)
    db.execute("CREATE TABLE aid_requests (id INTEGER PRIMARY KEY, secret TEXT)")
    db.execute("INSERT INTO aid_requests (secret) VALUES ('a private need')")
    document = DataRights(db, []).export(["@admin:example.org"])
    assert document["data"] == {}
    assert "a private need" not in json.dumps(document)


def test_write_export_round_trips_and_is_private(tmp_path: Path) -> None:
    config = make_config(tmp_path, admins=["@admin:example.org"])
    app = Application(config)
    app.db.migrate(app.migrations)
    target = app.data_rights.write_export(config.bot.admins, tmp_path / "out" / "export.json")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["viewers"] == ["@admin:example.org"]
    assert document["schema_version"] >= 1
    assert {"events", "places", "aid_requests", "schedules"} <= set(document["data"])
    assert json.loads(app.data_rights.export_json(config.bot.admins))["data"] == document["data"]
    app.db.close()


def test_two_features_claiming_one_section_is_an_error(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db")

    def rows(viewers: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        return {"places": []}

    with pytest.raises(ValueError, match="places"):
        DataRights(db, [feature("a", export=rows), feature("b", export=rows)]).export([])


def test_every_feature_holding_members_data_declares_how_to_forget_it(tmp_path: Path) -> None:
    app = Application(make_config(tmp_path))
    forgetting = {f.name for f in app.features if f.forget is not None}
    assert forgetting == {"relay", "gatherings", "places", "aid", "schedules", "translation"}
    assert all(f.forget_keeps for f in app.features if f.forget is not None)
    app.db.close()


# ---- forget registry ---------------------------------------------------------------------------


def test_forget_calls_every_feature_that_can_forget(fresh_db: Database) -> None:
    calls: list[tuple[str, str]] = []

    def rsvps(user_id: str) -> dict[str, int]:
        calls.append(("rsvps", user_id))
        return {"RSVPs": 2}

    def offers(user_id: str) -> dict[str, int]:
        calls.append(("offers", user_id))
        return {"standing offers": 1, "RSVPs": 1}

    report = DataRights(
        fresh_db,
        [
            feature("gatherings", forget=rsvps),
            feature("rooms"),
            feature("aid", forget=offers, forget_keeps=("Anonymised aid records.",)),
        ],
    ).forget("@ana:example.org")
    assert calls == [("rsvps", "@ana:example.org"), ("offers", "@ana:example.org")]
    assert report.erased == {"RSVPs": 3, "standing offers": 1}
    assert report.kept == ("Anonymised aid records.",)
    assert report.total == 4


# ---- health ----------------------------------------------------------------------------------


def health_for(
    tmp_path: Path, *, last_sync_at: float | None, connected: bool, translation: Any = None
) -> Health:
    db = Database(tmp_path / "h.db")
    db.migrate(ALL_MIGRATIONS)
    matrix = SimpleNamespace(last_sync_at=last_sync_at, connected=connected, stats=SendStats())
    scheduler = SimpleNamespace(job_count=lambda: 3)
    return Health(matrix, db, scheduler, Metrics(), translation, sync_timeout_ms=30000)  # type: ignore[arg-type]


def test_health_is_ok_after_a_recent_sync_and_writes_the_probe(tmp_path: Path) -> None:
    health = health_for(tmp_path, last_sync_at=100.0, connected=True)
    healthy, report = health.check(now=110.0)
    assert healthy
    assert report["status"] == "ok"
    assert report["reason"] is None
    assert report["sync_age_seconds"] == 10.0
    assert health.db.query_one("SELECT checked_at FROM health")["checked_at"]


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
    health = health_for(tmp_path, last_sync_at=last_sync_at, connected=connected)
    healthy, report = health.check(now=now)
    assert not healthy
    assert report["reason"] == reason


def test_health_fails_when_the_database_cannot_be_written(tmp_path: Path) -> None:
    health = health_for(tmp_path, last_sync_at=100.0, connected=True)
    health.db.close()
    healthy, report = health.check(now=101.0)
    assert not healthy
    assert report["reason"].startswith("database: not writable (ProgrammingError")


def test_metrics_copy_running_totals_without_counting_twice(tmp_path: Path) -> None:
    translation = SimpleNamespace(stats={"apertium": EngineStats(calls=4, failures=1)})
    health = health_for(tmp_path, last_sync_at=100.0, connected=True, translation=translation)
    stats = health.matrix.stats
    stats.retries = 2
    stats.rate_limited = 1
    health.update_metrics(now=107.5)
    health.update_metrics(now=107.5)
    stats.retries = 5
    translation.stats["apertium"].cache_hits = 6
    health.update_metrics(now=108.0)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(health.metrics.render().decode())
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


def test_without_a_web_server_nothing_is_served_and_the_feed_command_says_why(
    tmp_path: Path,
) -> None:
    app = Application(make_config(tmp_path))
    assert app.core.web is None
    gatherings = app.feature("gatherings").service
    assert isinstance(gatherings, Gatherings)
    with pytest.raises(CommandError) as refused:
        gatherings.feed_url("!room:example.org", "@ana:example.org")
    assert "web server is off" in refused.value.message
    app.db.close()


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
