"""Permission attacks: a plain member tries every command reserved to admins, and fails.

The list of restricted commands comes from the declarations themselves, so a new admin
command cannot be added without this test trying it. Every attempt gets a refusal and leaves
the bot's tables exactly as they were; rights follow the power level the moment it changes;
the configured bot admin may do what members may not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import Application
from bot.core.commands import Permission
from bot.core.storage.database import Database
from tests.integration.test_relay_support import command
from tests.support.botharness import BotHarness
from tests.support.families import declared_families
from tests.support.members import Member
from tests.support.predicates import joined, room_with_bot

pytestmark = pytest.mark.integration

# tables that record what syncs bring (the ledger, the rooms' mirrored state), not what commands change
NOISE = {"inbox", "sync_state", "room_state", "health", "translation_cache", "_sqlite_migrations"}

# plausible arguments for every command whose declaration needs an admin
RESTRICTED_ARGS = {
    "room lang": "es",
    "room tz": "Asia/Tokyo",
    "relay link": "pirates en",
    "relay unlink": "",
    "relay pause": "",
    "relay resume": "",
    "relay requests": "",
    "relay approve": "zzzz",
    "relay refuse": "zzzz Not welcome",
    "relay code": "",
    "relay remove": "{room}",
    "relay mode": "{room} receive",
    "relay steward": "add {room}",
    "relay audit": "",
    "relay space": "",
    "event feed": "",
    "aid audit": "{aid}",
    "aid coordinators": "add",
    "schedule edit": "{schedule} text Pirated text",
    "schedule pause": "{schedule}",
    "schedule resume": "{schedule}",
    "schedule approve": "{draft}",
    "schedule remove": "{schedule}",
    "schedule approval": "off",
}
# verbs open to members whose handlers refuse what is not theirs
GUARDED_INSIDE = [
    "relay glossary add Pirate",
    "relay glossary remove Mujawara",
    "event edit {gathering} title Pirated",
    "event cancel {gathering}",
    "event announce {gathering}",
    "event who {gathering}",
    "place edit {place} capacity 1",
    "place remove {place}",
    "aid update {aid} taken over by someone else",
    "aid partial {aid} half of it",
    "aid close {aid} fulfilled",
    "aid forget {aid}",
    "aid export",
    "schedule add --rooms {room} 2030-01-07 09:00 Posted elsewhere",
]


def dump(db: Database) -> dict[str, list[tuple[object, ...]]]:
    tables = [
        row[0]
        for row in db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if row[0] not in NOISE and not row[0].startswith("sqlite_")
    ]
    return {t: sorted(map(tuple, db.conn.execute(f"SELECT * FROM {t}")), key=repr) for t in tables}


def one(db: Database, sql: str, *params: object) -> object:
    """The single value ``sql`` selects."""
    row = db.query_one(sql, params)
    assert row is not None, sql
    return next(iter(row.values()))


async def until(app: Application, check: Callable[[], object], timeout: float = 15) -> None:  # noqa: ASYNC109
    """Wait for ``check`` to hold: re-checked each time the bot finishes a sync."""
    async with asyncio.timeout(timeout), app.runtime.sync.state:
        await app.runtime.sync.state.wait_for(lambda: bool(check()))


def restricted_commands() -> dict[str, Permission]:
    return {
        command.name: command.permission
        for family in declared_families()
        for command in family.commands.values()
        if command.permission > Permission.MEMBER
    }


def test_every_restricted_command_is_attacked() -> None:
    assert set(restricted_commands()) == set(RESTRICTED_ARGS)


async def ask(member: Member, room: str, text: str) -> str:
    return (await command(member, room, text)).strip()


async def test_member_is_refused_everything_admins_may_do(
    synapse, new_member, tmp_path: Path
) -> None:
    alice = await new_member("alice")  # creates the rooms: their admin
    mallory = await new_member("mallory")  # power 0
    carol = await new_member("carol")  # bot admin by configuration, power 0 in the room
    harness = BotHarness(synapse, tmp_path / "bot", bot={"admins": [carol.user_id]})
    await harness.start()
    try:
        await attacks(harness, alice, mallory, carol)
    finally:
        await harness.stop()


async def attacks(harness: BotHarness, alice: Member, mallory: Member, carol: Member) -> None:
    assert harness.app is not None
    db = harness.app.db
    room = await room_with_bot(alice, harness.user_id, name="assembly")
    other = await room_with_bot(alice, harness.user_id, name="elsewhere")
    for member in (mallory, carol):
        await alice.invite(room, member.user_id)
        await member.join(room)
        await alice.wait_for(room, joined(member.user_id))

    # what there is to attack, made by the room's admin
    assert "`perm`" in await ask(alice, room, "!relay link perm en")
    await ask(alice, other, "!relay link perm en")
    await ask(alice, room, "!relay glossary add Mujawara")
    await ask(alice, room, "!event add Assembly | 2030-01-05 18:00 | Tunis")
    await ask(alice, room, "!place add La Grange | Die | FR")
    await ask(alice, room, '!aid request housing today "Lyon, France" Bed for two')
    await ask(alice, room, "!schedule add 2030-01-06 09:00 The kitchen opens at noon")
    await ask(alice, room, "!schedule approval on")
    await ask(mallory, room, "!schedule add 2030-01-08 09:00 A draft by a member")
    ids = {
        "gathering": one(db, "SELECT id FROM gatherings"),
        "place": one(db, "SELECT id FROM places"),
        "aid": one(db, "SELECT public_id FROM aid_requests"),
        "schedule": one(db, "SELECT id FROM schedules WHERE author = ?", alice.user_id),
        "draft": one(db, "SELECT id FROM schedules WHERE author = ?", mallory.user_id),
        "room": other,
    }
    before = dump(db)

    attempts = [
        f"!{name} {args.format(**ids)}".strip() for name, args in RESTRICTED_ARGS.items()
    ] + [f"!{text.format(**ids)}" for text in GUARDED_INSIDE]
    for text in attempts:
        answer = await ask(mallory, room, text)
        assert "Only" in answer, (text, answer)
        assert dump(db) == before, text

    # promoted: the rights come at once; demoted: they go at once
    await alice.set_power_level(room, mallory.user_id, 50)
    answer = await ask(mallory, room, "!room tz Europe/Paris")
    assert "Only" not in answer, answer
    assert harness.app.core.rooms.timezone(room).key == "Europe/Paris"
    await alice.set_power_level(room, mallory.user_id, 0)
    changed = dump(db)
    for text in ("!room tz Africa/Tunis", f"!schedule pause {ids['schedule']}", "!relay unlink"):
        answer = await ask(mallory, room, text)
        assert "Only" in answer, (text, answer)
        assert dump(db) == changed, text

    # the configured bot admin may, without any power in the room
    assert "Only" not in await ask(carol, room, "!room tz Asia/Tokyo")
    assert harness.app.core.rooms.timezone(room).key == "Asia/Tokyo"
    assert "Only" not in await ask(carol, room, f"!schedule pause {ids['schedule']}")
    assert one(db, "SELECT status FROM schedules WHERE id = ?", ids["schedule"]) == "paused"
    assert "Only" not in await ask(carol, room, "!relay glossary remove Mujawara")
    assert db.query("SELECT * FROM relay_glossary") == []
    assert "Only" not in await ask(carol, room, "!aid coordinators add")
    assert one(db, "SELECT room_id FROM aid_coordinator_rooms") == room
    assert "Only" not in await ask(carol, room, f"!place remove {ids['place']}")
    assert one(db, "SELECT removed FROM places WHERE id = ?", ids["place"]) == 1


async def test_private_aid_request_id_quoted_in_a_public_room(
    synapse, new_member, tmp_path: Path
) -> None:
    alice = await new_member("alice")
    mallory = await new_member("mallory")
    harness = BotHarness(synapse, tmp_path / "bot")
    await harness.start()
    try:
        assert harness.app is not None
        db = harness.app.db
        room = await room_with_bot(alice, harness.user_id, name="public")
        await alice.invite(room, mallory.user_id)
        await mallory.join(room)
        await alice.wait_for(room, joined(mallory.user_id))
        await ask(
            alice,
            room,
            '!aid request legal today "Tunis, Tunisia" visibility:coordinators Lawyer needed',
        )
        # a private request is acknowledged in a direct chat the bot opens: let it settle
        await until(
            harness.app, lambda: db.query("SELECT 1 FROM aid_dm_rooms JOIN rooms USING (room_id)")
        )
        private = one(db, "SELECT public_id FROM aid_requests")
        assert isinstance(private, str)
        unknown = "zzzzz"  # ids have 4 characters: this one is nobody's
        before = dump(db)
        for verb in ("show", "history", "claim", "update", "close"):
            extra = {"update": " note", "close": " fulfilled"}.get(verb, "")
            seen = await ask(mallory, room, f"!aid {verb} {private}{extra}")
            never = await ask(mallory, room, f"!aid {verb} {unknown}{extra}")
            # the same answer as for an id that does not exist: nothing tells it is there
            assert seen.replace(str(private), "N") == never.replace(str(unknown), "N"), verb
            assert "Lawyer" not in seen
            assert alice.user_id not in seen
        assert dump(db) == before
    finally:
        await harness.stop()
