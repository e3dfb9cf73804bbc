"""A database written by an earlier release opens, migrates and reads without losing a row.

``tests/fixtures/database-2026-11-30.sql`` was written by the code as it stood on 2026-11-30
(before the feature-slice layout): rooms, a relay group with a glossary and a relayed copy, a
gathering with an answer and an announcement, a place, aid requests, offers and a coordinators'
room, a schedule, the event ledger, a pending ``!forget me`` and a cached translation.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.aid.service import MutualAid
from bot.app import Application
from bot.core.config import from_dict
from bot.core.i18n import Catalogs
from bot.core.matrix.client import LIAISON_KEY
from bot.gatherings.service import Gatherings
from bot.places.service import Places
from bot.relay.notices import ACTIONS
from bot.relay.service import Relay
from bot.schedules.service import Schedules
from tests.support.fakematrix import FakeMatrix

FIXTURE = Path(__file__).parent.parent / "fixtures" / "database-2026-11-30.sql"


def table_rows(conn: sqlite3.Connection) -> dict[str, tuple[list[str], set[tuple[object, ...]]]]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    found = {}
    for name in names:
        columns = [c[1] for c in conn.execute(f'PRAGMA table_info("{name}")')]
        found[name] = (columns, set(conn.execute(f'SELECT * FROM "{name}"')))  # noqa: S608
    return found


@pytest.fixture
def upgraded(tmp_path: Path) -> Iterator[tuple[Application, dict]]:
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "liaison.db")
    conn.executescript(FIXTURE.read_text(encoding="utf-8"))
    before = table_rows(conn)
    conn.close()
    config = from_dict(
        {
            "matrix": {
                "homeserver": "http://127.0.0.1:1",
                "user_id": "@liaison:x",
                "password": "x",
            },
            "storage": {"data_dir": str(data)},
            "bot": {"admins": ["@admin:x"]},
            "translation": {"engines": []},
        },
        environ={},
    )
    app = Application(config, matrix=FakeMatrix())  # type: ignore[arg-type]
    app.db.migrate(app.migrations)
    yield app, before
    app.db.close()


def test_no_row_of_the_old_database_is_lost(upgraded: tuple[Application, dict]) -> None:
    app, before = upgraded
    after = table_rows(app.db.conn)
    assert set(before) <= set(after)
    for table, (columns, rows) in before.items():
        if table == "_sqlite_migrations":
            continue
        picked = ", ".join(f'"{c}"' for c in columns)
        kept = set(app.db.conn.execute(f'SELECT {picked} FROM "{table}"'))  # noqa: S608
        assert rows <= kept, table
    assert before["_sqlite_migrations"][1] <= after["_sqlite_migrations"][1]


def test_the_features_read_the_old_rows(upgraded: tuple[Application, dict]) -> None:
    app, _ = upgraded
    assert app.core.rooms.language("!fr:x") == "fr"
    assert app.core.rooms.timezone("!fr:x").key == "Europe/Paris"
    relay = app.feature("relay").service
    assert isinstance(relay, Relay)
    # a bot admin is a steward of every group: the post reaches the whole group
    audience = relay.groups.audience("!fr:x", "@admin:x")
    assert (audience.group, audience.room_ids, audience.glossary) == (
        "mujawara",
        ["!fr:x", "!es:x"],
        ["Mujawara"],
    )
    # a member who is no steward reaches their own room only
    assert relay.groups.audience("!fr:x", "@ana:x").room_ids == ["!fr:x"]
    places = app.feature("places").service
    assert isinstance(places, Places)
    place = places.get("p4kx")
    assert place is not None
    assert place.name == "La Grange"
    assert places.registered_in("p4kx", "!fr:x")
    gatherings = app.feature("gatherings").service
    assert isinstance(gatherings, Gatherings)
    assert gatherings.find("k3m9").capacity == 10
    aid = app.feature("aid").service
    assert isinstance(aid, MutualAid)
    assert aid.coordinator_rooms() == ["!coord:x"]
    listed = aid.listing("!coord:x", "@admin:x", "all")
    assert [(r.requester, r.visibility) for r in listed] == [
        ("@ana:x", "network"),
        ("@bob:x", "coordinators"),
    ]
    schedules = app.feature("schedules").service
    assert isinstance(schedules, Schedules)
    assert [s.text for s in schedules.in_room("!r:x")] == ["text by @ana:x"]
    exported = app.data_rights.export(["@admin:x"])
    assert exported["missing"] == []
    assert {g["id"] for g in exported["data"]["events"]} == {"k3m9"}


async def test_each_old_group_gets_its_earliest_room_as_steward_room_and_tells_it_once(
    upgraded: tuple[Application, dict],
) -> None:
    app, _ = upgraded
    relay = app.feature("relay").service
    assert isinstance(relay, Relay)
    # both rooms were linked in the same second: the one linked first (!fr:x) stewards
    assert relay.groups.steward_rooms("mujawara") == ["!fr:x"]
    fake = app.core.matrix
    assert isinstance(fake, FakeMatrix)
    app.core.matrix.power[("!fr:x", "@ana:x")] = 100  # type: ignore[attr-defined]
    assert relay.groups.is_steward("mujawara", "@ana:x")
    assert not relay.groups.is_steward("mujawara", "@bob:x")

    await relay.notices.deliver()
    told = [s for s in fake.sent if s.content.get(LIAISON_KEY, {}).get("kind") == "relay-group"]
    assert [s.room_id for s in told] == ["!fr:x"]
    assert told[0].content["body"] == Catalogs().translate(
        "fr", ACTIONS["steward-upgrade"][1], group="`mujawara`", help="`!help relay`"
    )
    # told once: the same loader again, and a restarted bot on the same database, post nothing
    await relay.notices.deliver()
    restarted = Application(app.config, matrix=FakeMatrix())  # type: ignore[arg-type]
    restarted.db.migrate(restarted.migrations)
    again_relay = restarted.feature("relay").service
    assert isinstance(again_relay, Relay)
    await again_relay.notices.deliver()
    assert restarted.core.matrix.sent == []  # type: ignore[attr-defined]
    restarted.db.close()
    again = [s for s in fake.sent if s.content.get(LIAISON_KEY, {}).get("kind") == "relay-group"]
    assert len(again) == 1
    history = relay.notices.history_lines("mujawara", "en", "!fr:x", 10)
    assert len(history) == 1
    assert "became the steward room of `mujawara`" in history[0]


def test_the_upgrade_is_applied_once(tmp_path: Path, upgraded: tuple[Application, dict]) -> None:
    app, _ = upgraded
    app.db.migrate(app.migrations)  # a restart runs the migrations again: nothing new
    rows = app.db.query("SELECT grp, room_id FROM relay_stewards")
    assert rows == [{"grp": "mujawara", "room_id": "!fr:x"}]
    assert len(app.db.query("SELECT id FROM relay_audit")) == 1
