"""Running Liaison as a service: health, metrics, backups and exports while it works, !forget me, logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.core.feature import Core, Feature
from bot.core.logsetup import configure
from bot.core.storage.database import Database
from bot.dev.devserver.synapse import LocalSynapse
from bot.places import store as places
from tests.support.botharness import BotHarness
from tests.support.members import password_for
from tests.support.predicates import from_bot, reply_to, room_with_bot

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WEB = {"enabled": True, "port": 0}


async def eventually(
    bot: BotHarness,
    probe: Callable[[], Awaitable[Any]],
    accept: Callable[[Any], bool],
    timeout: float = 30,
) -> Any:
    """Probe again after each sync the bot finishes (or fails) until ``accept`` holds."""
    assert bot.app is not None
    app = bot.app
    value = await probe()
    try:
        async with asyncio.timeout(timeout):
            while not accept(value):
                async with app.runtime.sync.state:
                    await app.runtime.sync.state.wait()
                value = await probe()
    except TimeoutError:
        raise AssertionError(
            f"condition not met within {timeout} s; last value {value!r}"
        ) from None
    return value


async def get(bot: BotHarness, path: str) -> tuple[int, str]:
    assert bot.app is not None
    assert bot.app.core.web is not None
    url = f"http://127.0.0.1:{bot.app.core.web.port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def config_file(harness: BotHarness, path: Path, **extra: Any) -> Path:
    """The harness bot's configuration as ``liaison`` reads it from disk."""
    config = harness.config
    raw = {
        "matrix": {"homeserver": config.matrix.homeserver, "user_id": config.matrix.user_id},
        "storage": {"data_dir": str(config.storage.path)},
        "translation": {"engines": []},
        **extra,
    }
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


async def liaison(*args: str, password: str = "") -> tuple[int, str, str]:
    env = {**os.environ, "LIAISON_PASSWORD": password}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


# ---- /health ---------------------------------------------------------------------------------


async def test_health_follows_the_homeserver_down_and_back(tmp_path: Path) -> None:
    hs = LocalSynapse(tmp_path / "hs")
    await hs.start()
    bot = BotHarness(hs, tmp_path / "bot", web=WEB)
    try:
        await bot.start()
        status, body = await eventually(bot, lambda: get(bot, "/health"), lambda r: r[0] == 200)
        assert json.loads(body)["status"] == "ok"

        await hs.stop()
        status, body = await eventually(bot, lambda: get(bot, "/health"), lambda r: r[0] == 503)
        report = json.loads(body)
        assert report["status"] == "unhealthy"
        assert report["reason"].startswith("sync: the homeserver is unreachable")
        assert report["database"] == "ok"

        await hs.start()
        status, body = await eventually(
            bot, lambda: get(bot, "/health"), lambda r: r[0] == 200, timeout=60
        )
        assert json.loads(body)["reason"] is None
    finally:
        await bot.stop()
        await hs.stop()


# ---- /metrics --------------------------------------------------------------------------------


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_parse_and_count_a_handled_command(synapse, tmp_path, new_member) -> None:
    bot = BotHarness(synapse, tmp_path / "bot", web=WEB)
    try:
        await bot.start()
        alice = await new_member("alice")
        room = await room_with_bot(alice, bot.user_id, name="metrics")
        status, text = await get(bot, "/metrics")
        assert status == 200
        assert ("liaison_commands_total", (("family", "room"), ("outcome", "ok"))) not in samples(
            text
        )
        sent = await alice.send_text(room, "!room info")
        await alice.wait_for(room, reply_to(sent))
        key = ("liaison_commands_total", (("family", "room"), ("outcome", "ok")))
        _, text = await eventually(
            bot, lambda: get(bot, "/metrics"), lambda r: key in samples(r[1])
        )
        found = samples(text)
        assert found[key] == 1
        assert found[("liaison_events_handled_total", (("outcome", "ok"),))] >= 1
        assert 0 <= found[("liaison_sync_lag_seconds", ())] < 30
        assert ("liaison_scheduler_jobs", ()) in found
        assert ("liaison_send_retries_total", ()) in found
    finally:
        await bot.stop()


# ---- backup and export -----------------------------------------------------------------------


async def test_backup_while_the_bot_writes_is_consistent(synapse, tmp_path, new_member) -> None:
    bot = BotHarness(synapse, tmp_path / "bot")
    try:
        app = await bot.start()
        alice = await new_member("alice")
        room = await room_with_bot(alice, bot.user_id, name="backup")
        command = await alice.send_text(room, "!room lang fr")
        await alice.wait_for(room, reply_to(command))
        cfg = config_file(bot, tmp_path / "config.yaml")

        def handled() -> int:
            row = app.db.query_one("SELECT count(*) AS n FROM inbox WHERE done_at IS NOT NULL")
            assert row is not None
            return int(row["n"])

        done = asyncio.Event()

        async def keep_writing() -> int:
            count = 0
            while not done.is_set():
                sent = await alice.send_text(room, "!room info")
                await alice.wait_for(room, reply_to(sent))
                count += 1
            return count

        writer = asyncio.create_task(keep_writing())

        async def handled_now() -> int:
            return handled()

        await eventually(bot, handled_now, lambda n: n >= 3)
        before = handled()
        target = tmp_path / "copy" / "liaison.db"
        code, out, err = await liaison(
            "backup", "-c", str(cfg), str(target), password=password_for(bot.localpart)
        )
        during = handled() - before
        done.set()
        assert await writer >= 1
        assert code == 0, err
        assert out.splitlines()[0] == f"backup written to {target}"
        # the cross-signing keys go along, beside the copy
        assert "cross-signing keys copied to" in out
        assert during >= 1, "the bot handled nothing while the backup ran"

        copy = sqlite3.connect(target)
        try:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            language = copy.execute(
                "SELECT language FROM rooms WHERE room_id = ?", (room,)
            ).fetchone()
            assert language == ("fr",)
            assert copy.execute("SELECT 1 FROM inbox WHERE event_id = ?", (command,)).fetchone()
            copied = copy.execute(
                "SELECT count(*) FROM inbox WHERE done_at IS NOT NULL"
            ).fetchone()[0]
            assert copied >= before
        finally:
            copy.close()
    finally:
        await bot.stop()


async def test_export_round_trips_the_rows(synapse, tmp_path, new_member) -> None:
    bot = BotHarness(synapse, tmp_path / "bot")
    admin = "@coordinator:localhost"
    try:
        app = await bot.start()
        alice = await new_member("alice")
        room = await room_with_bot(alice, bot.user_id, name="export")
        places.add(
            app.db,
            "nour",
            "$export-test",
            name="Salle Nour",
            creator=alice.user_id,
            room_id=room,
            city="Tunis",
        )
        cfg = config_file(bot, tmp_path / "config.yaml", bot={"admins": [admin]})
        target = tmp_path / "export.json"
        code, _, err = await liaison(
            "export", "-c", str(cfg), str(target), password=password_for(bot.localpart)
        )
        assert code == 0, err
        document = json.loads(target.read_text(encoding="utf-8"))
        assert document["format"] == "liaison-export"
        assert document["viewers"] == [admin]
        assert document["schema_version"] == app.db.schema_version()
        assert set(document["sources"]) == set(document["data"])
        assert document["missing"] == []
        assert {"name": "Salle Nour", "city": "Tunis"}.items() <= next(
            p for p in document["data"]["places"] if p["id"] == "nour"
        ).items()
        # to stdout when no path is given, the same data
        code, out, _ = await liaison("export", "-c", str(cfg), password=password_for(bot.localpart))
        assert code == 0
        assert json.loads(out)["data"] == document["data"]
    finally:
        await bot.stop()


# ---- !forget me ------------------------------------------------------------------------------


def probe_feature(core: Core) -> Feature:
    """A feature as others are written: a table and a forget hook."""
    db = core.db
    db.execute("CREATE TABLE IF NOT EXISTS probe_rsvps (user_id TEXT, gathering TEXT)")
    db.execute("CREATE TABLE IF NOT EXISTS probe_offers (user_id TEXT, text TEXT)")

    def forget(user_id: str) -> dict[str, int]:
        rsvps = db.execute("DELETE FROM probe_rsvps WHERE user_id = ?", (user_id,)).rowcount
        offers = db.execute("DELETE FROM probe_offers WHERE user_id = ?", (user_id,)).rowcount
        return {"probe RSVPs": rsvps, "probe offers": offers}

    return Feature(
        name="probe", forget=forget, forget_keeps=("Probe records stay, without your name.",)
    )


async def forget_report(member: Any, bot_user_id: str) -> str:
    """The full report of ``!forget me confirm`` typed in a shared room: in a direct chat."""
    dm = await member.wait_for_invite(bot_user_id, "What I erased")
    event = await member.wait_for(dm, from_bot(bot_user_id, contains="What remains"), timeout=20)
    return str(event["content"]["body"])


def table_counts(db: Database) -> dict[str, int]:
    """Rows per table, except the event ledger (every command adds its own id there)."""
    tables = [
        r["name"]
        for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    ]
    counts = {}
    for table in tables:
        row = db.query_one(f'SELECT count(*) AS n FROM "{table}"')
        assert row is not None
        counts[table] = row["n"]
    del counts["inbox"]
    return counts


async def test_forget_me_erases_the_sender_and_nothing_else(synapse, tmp_path, new_member) -> None:
    bot = BotHarness(synapse, tmp_path / "bot", extra_features=[probe_feature])
    try:
        app = await bot.start()
        alice = await new_member("alice", encryption=True)  # reads the report in a direct chat
        bob = await new_member("bob")
        room = await room_with_bot(alice, bot.user_id, name="forget")
        await alice.invite(room, bob.user_id)
        await bob.join(room)
        for user, gathering in [(alice, "g1"), (alice, "g2"), (bob, "g1")]:
            app.db.execute("INSERT INTO probe_rsvps VALUES (?, ?)", (user.user_id, gathering))
        app.db.execute("INSERT INTO probe_offers VALUES (?, 'bike')", (bob.user_id,))

        async def ask(member: Any, text: str) -> str:
            sent = await member.send_text(room, text)
            return str((await member.wait_for(room, reply_to(sent)))["content"]["body"])

        # bad paths change nothing
        before = table_counts(app.db)
        body = await ask(alice, "!forget me confirm")
        assert "There is no request to forget you" in body
        body = await ask(alice, "!forget me please")
        assert "I did not understand `please`" in body
        assert "Usage: `!forget me [confirm]`" in body
        assert table_counts(app.db) == before

        body = await ask(alice, "!forget me")
        assert "To go ahead, type `!forget me confirm` within 10 minutes" in body
        assert table_counts(app.db)["probe_rsvps"] == 3
        # bob's confirmation does not act on alice's request
        body = await ask(bob, "!forget me confirm")
        assert "There is no request to forget you" in body

        before = table_counts(app.db)
        body = await ask(alice, "!forget me confirm")
        assert "I erased what I held about you" in body
        # a shared room sees no count (one could include what it may not know of)
        assert "probe RSVPs" not in body
        assert "detailed report is in a direct chat" in body
        assert "What remains:" in body
        assert "Probe records stay, without your name." in body
        report = await forget_report(alice, bot.user_id)
        assert "- probe RSVPs: 2" in report
        assert "probe offers" not in report  # alice had none: nothing to claim
        assert "Messages you wrote stay in the rooms" in report
        rows = app.db.query("SELECT user_id, gathering FROM probe_rsvps")
        assert rows == [{"user_id": bob.user_id, "gathering": "g1"}]
        after = table_counts(app.db)
        # only alice's probe rows and her used-up request went (and the direct chat came);
        # the copy of the rooms' state, which names everyone, is erased whole
        changed = {t for t in before if before[t] != after[t]}
        assert changed == {"probe_rsvps", "forget_requests", "rooms", "room_state"}
        assert after["room_state"] == 0
        assert after["probe_offers"] == 1

        # the request is used up: confirming again erases nothing
        body = await ask(alice, "!forget me confirm")
        assert "There is no request to forget you" in body
        assert app.db.query_one("SELECT count(*) AS n FROM probe_rsvps") == {"n": 1}
    finally:
        await bot.stop()


async def test_an_expired_request_is_not_confirmed(synapse, tmp_path, new_member) -> None:
    bot = BotHarness(synapse, tmp_path / "bot", extra_features=[probe_feature])
    try:
        app = await bot.start()
        alice = await new_member("alice")
        room = await room_with_bot(alice, bot.user_id, name="forget-late")
        app.db.execute("INSERT INTO probe_rsvps VALUES (?, 'g1')", (alice.user_id,))
        sent = await alice.send_text(room, "!oublier me")
        await alice.wait_for(room, reply_to(sent))
        app.db.execute(
            "UPDATE forget_requests SET requested_at = '2000-01-01T00:00:00+00:00' "
            "WHERE user_id = ?",
            (alice.user_id,),
        )
        sent = await alice.send_text(room, "!forget me confirm")
        body = (await alice.wait_for(room, reply_to(sent)))["content"]["body"]
        assert "from the last 10 minutes, so nothing was erased" in body
        assert app.db.query_one("SELECT count(*) AS n FROM probe_rsvps") == {"n": 1}
    finally:
        await bot.stop()


async def test_forget_me_erases_rsvps_offers_requests_and_relay_links(
    synapse, tmp_path, new_member
) -> None:
    bot = BotHarness(synapse, tmp_path / "bot")
    try:
        app = await bot.start()
        alice = await new_member("alice", encryption=True)  # reads the report in a direct chat
        bob = await new_member("bob")
        room = await room_with_bot(alice, bot.user_id, name="forget-all")
        other = await room_with_bot(alice, bot.user_id, name="forget-all-relay")
        for target in (room, other):
            await alice.invite(target, bob.user_id)
            await bob.join(target)

        async def ask(member: Any, text: str, where: str = room) -> str:
            sent = await member.send_text(where, text)
            return str((await member.wait_for(where, reply_to(sent)))["content"]["body"])

        for target in (room, other):
            assert "is now in the relay group" in await ask(alice, "!relay link forget en", target)
        made = await ask(bob, "!event add Assembly | 2030-05-04 18:00 | Tunis")
        found = re.search(r"Gathering `([2-9a-z]{4,5})` created", made)
        assert found, made
        gathering = found[1]
        for member, answer in ((alice, "yes"), (bob, "maybe")):
            await ask(member, f"!event rsvp {gathering} {answer}")
        for member in (alice, bob):
            await ask(member, '!aid offer housing "Berlin, Germany" Can host two people')
            await ask(member, "!aid request material whenever Lyon/France Blankets")
        relayed: list[str] = []
        for member, text in ((alice, "Bonjour from Alice"), (bob, "Hello from Bob")):
            sent = await member.send_text(room, text)
            await bob.wait_for(other, lambda e, s=sent: _relays(e, bot.user_id, s))
            relayed.append(sent)

        def count(sql: str, user: str) -> int:
            row = app.db.query_one(sql, (user,))
            assert row is not None
            return int(row["n"])

        def holdings(user: str) -> dict[str, int]:
            return {
                "rsvps": count("SELECT count(*) AS n FROM gathering_rsvps WHERE user_id = ?", user),
                "standing offers": count(
                    "SELECT count(*) AS n FROM aid_offers WHERE offerer = ? AND request_id IS NULL",
                    user,
                ),
                "requests": count(
                    "SELECT count(*) AS n FROM aid_requests WHERE requester = ?", user
                ),
                "relayed": count("SELECT count(*) AS n FROM relay_sources WHERE sender = ?", user),
            }

        everything = {"rsvps": 1, "standing offers": 1, "requests": 1, "relayed": 1}
        assert holdings(alice.user_id) == everything
        assert holdings(bob.user_id) == everything
        copies_before = count(
            "SELECT count(*) AS n FROM relay_copies WHERE source_event_id = ?", relayed[1]
        )

        body = await ask(alice, "!forget me")
        assert "To go ahead, type `!forget me confirm`" in body
        body = await ask(alice, "!forget me confirm")
        assert "I erased what I held about you" in body
        assert ": 1" not in body
        body = await forget_report(alice, bot.user_id)
        for line in (
            "- RSVPs: 1",
            "- standing offers: 1",
            "- aid requests you made (anonymised): 1",
            "- records of your relayed messages: 1",
            "- links to the relayed copies of your messages: 1",
        ):
            assert line in body, body
        assert "Aid requests you made stay for the coordinators' records" in body
        assert "Relayed copies of your messages stay in the other rooms" in body

        assert holdings(alice.user_id) == dict.fromkeys(everything, 0)
        assert holdings(bob.user_id) == everything
        assert copies_before == 1
        assert (
            count("SELECT count(*) AS n FROM relay_copies WHERE source_event_id = ?", relayed[1])
            == 1
        )
        assert (
            count("SELECT count(*) AS n FROM relay_copies WHERE source_event_id = ?", relayed[0])
            == 0
        )
        # her request stays for the records, anonymised and closed
        (kept,) = app.db.query(
            "SELECT category, country, description, status FROM aid_requests "
            "WHERE requester IS NULL"
        )
        assert kept == {
            "category": "material",
            "country": "France",
            "description": "",
            "status": "closed",
        }
        # no table but the event ledger still holds her user id
        for table in table_counts(app.db):
            for row in app.db.query(f'SELECT * FROM "{table}"'):
                assert alice.user_id not in json.dumps(row, default=str), (table, row)
        # the relay keeps working for the others
        sent = await bob.send_text(room, "Still relayed")
        await bob.wait_for(other, lambda e: _relays(e, bot.user_id, sent))
    finally:
        await bot.stop()


def _relays(event: dict[str, Any], bot_user_id: str, source: str) -> bool:
    marker = event.get("content", {}).get("org.mujawara.liaison", {})
    return event.get("sender") == bot_user_id and marker.get("source") == source


# ---- logs ------------------------------------------------------------------------------------


async def test_json_logs_have_one_object_per_line_and_no_bodies(
    synapse, tmp_path, new_member
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure("INFO", "json", stream=stream)
    bot = BotHarness(synapse, tmp_path / "bot")
    try:
        await bot.start()
        alice = await new_member("alice")
        room = await room_with_bot(alice, bot.user_id, name="logs")
        await alice.send_text(room, "a private note about zebrapapaya")
        sent = await alice.send_text(room, "!room tz Zebra/Papaya")
        await alice.wait_for(room, reply_to(sent))
        await bot.stop()
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = stream.getvalue().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(
        isinstance(r, dict) and {"ts", "level", "logger", "message"} <= r.keys() for r in records
    )
    assert not [line for line in lines if "zebrapapaya" in line.lower()]
    assert not [line for line in lines if password_for(bot.localpart) in line]
    handled = [r["message"] for r in records if r["message"].startswith("event ")]
    # one line per event, with room, event id, family, outcome and timing
    assert any(
        f"room={room}" in m
        and f"event={sent}" in m
        and "family=room" in m
        and "outcome=refused" in m
        and "ms=" in m
        for m in handled
    )
    assert len([m for m in handled if f"event={sent}" in m]) == 1
