"""The consent rules of relay groups, on a fresh database: who may link, approve, expel,
steward; join codes; the history and what it tells whom; no silent downgrade of encryption.

The same story runs end to end against the real homeserver in
``tests/integration/test_relay_consent.py`` (the same rules against the real homeserver); here every branch is cheap to reach.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.app import Application
from bot.core.config import from_dict
from bot.core.errors import CommandError, PermissionDenied
from bot.core.matrix.client import LIAISON_KEY
from bot.relay import store
from bot.relay.desk import RelayDesk
from bot.relay.groups import NOT_STEWARD, RECEIVE_ONLY
from bot.relay.service import Relay
from tests.support.fakematrix import FakeMatrix

ANA, BOB, CLEM, ADMIN = "@ana:x", "@bob:x", "@clem:x", "@admin:x"
HOME, BOBS, CLEMS = "!home:x", "!bobs:x", "!clems:x"


@dataclass
class Rooms(FakeMatrix):
    encrypted: set[str] = field(default_factory=set)

    def is_encrypted(self, room_id: str) -> bool:
        return room_id in self.encrypted

    def room_name(self, room_id: str) -> str:
        return room_id.strip("!").split(":")[0].title()

    def members(self, room_id: str) -> list[str]:
        return [self.user_id, "@one:x", "@two:x"]


@dataclass
class World:
    app: Application
    matrix: Rooms
    desk: RelayDesk
    relay: Relay
    events: Iterator[str]

    def link(self, room: str, text: str, user: str) -> object:
        return self.desk.link(room, text.split(), user, next(self.events))

    def actions(self, group: str = "g") -> list[str]:
        return [e.action for e in store.history(self.app.db, group, 100)]

    def told(self) -> list[tuple[str, str]]:
        asyncio.run(self.desk.tell())
        kinds = [
            (s.room_id, s.content["body"])
            for s in self.matrix.sent
            if s.content.get(LIAISON_KEY, {}).get("kind") == "relay-group"
        ]
        self.matrix.sent.clear()
        return kinds


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    config = from_dict(
        {
            "matrix": {
                "homeserver": "http://127.0.0.1:1",
                "user_id": "@liaison:x",
                "password": "x",
            },
            "storage": {"data_dir": str(tmp_path)},
            "bot": {"admins": [ADMIN]},
            "translation": {"engines": []},
        },
        environ={},
    )
    matrix = Rooms()
    # each one administers their own room; nobody else has power anywhere
    matrix.power.update({(HOME, ANA): 100, (BOBS, BOB): 100, (CLEMS, CLEM): 100})
    app = Application(config, matrix=matrix)  # type: ignore[arg-type]
    app.db.migrate(app.migrations)
    desk = app.router.families["relay"].service
    relay = app.feature("relay").service
    assert isinstance(desk, RelayDesk)
    assert isinstance(relay, Relay)
    yield World(app, matrix, desk, relay, (f"$cmd{i}" for i in range(10_000)))
    app.db.close()


# The rooms speak languages without a shipped catalog: the words checked are the English ones.


def test_the_first_room_creates_the_group_and_others_ask_its_stewards(world: World) -> None:
    made = world.link(HOME, "g pt", ANA)
    assert made.how == "created"  # type: ignore[attr-defined]
    groups = world.relay.groups
    assert groups.steward_rooms("g") == [HOME]
    assert groups.is_steward("g", ANA)
    assert groups.is_steward("g", ADMIN)
    assert not groups.is_steward("g", BOB)

    asked = world.link(BOBS, "g de receive", BOB)
    request = asked.request  # type: ignore[attr-defined]
    assert asked.how == "requested"
    assert request is not None
    assert groups.link_of(BOBS) is None  # nothing is relayed until a steward approves
    assert world.app.core.rooms.language(BOBS) == "de"
    told = world.told()
    assert [room for room, _ in told] == [HOME]
    assert f"`{request.id}`" in told[0][1]
    assert "`!bobs:x`" in told[0][1]
    assert "Members: 2; not encrypted" in told[0][1]
    assert BOB in told[0][1]

    # asking again waits; a replay of the same command is the same request
    with pytest.raises(CommandError, match="waits for a steward"):
        world.link(BOBS, "g de", BOB)
    assert store.request_by_command(world.app.db, "$cmd1") == request

    # Bob is no steward: not from his room, not from the steward room
    with pytest.raises(CommandError):
        world.desk.approve(BOBS, [request.id], BOB)
    with pytest.raises(PermissionDenied):
        world.desk.approve(HOME, [request.id], BOB)
    approved, linked, allowed, unpublished = world.desk.approve(HOME, [request.id], ANA)
    assert (linked.group, linked.mode, allowed, unpublished) == ("g", "receive", [], 0)
    assert groups.link_of(BOBS) is not None
    told = world.told()
    # the steward room answered the command itself; the room that asked is told
    assert [room for room, _ in told] == [BOBS]
    assert "approved this room's request" in told[0][1]
    with pytest.raises(CommandError, match="not waiting any more"):
        world.desk.approve(HOME, [request.id], ANA)
    assert world.actions() == ["created", "request", "approved"]


def test_a_refused_or_withdrawn_room_gets_nothing(world: World) -> None:
    world.link(HOME, "g pt", ANA)
    first = world.link(BOBS, "g de", BOB).request  # type: ignore[attr-defined]
    world.told()
    world.desk.refuse(
        HOME, [first.id, "We", "do", "not", "know", "you"], f"{first.id} We do not know you", ANA
    )
    told = world.told()
    assert told[0][0] == BOBS
    assert "refused" in told[0][1]
    assert "We do not know you" in told[0][1]
    assert world.relay.groups.link_of(BOBS) is None
    # another group's request id is unknown here (no oracle across groups)
    world.link(CLEMS, "other it", CLEM)
    again = world.link(BOBS, "other de", BOB).request  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="There is no request"):
        world.desk.approve(HOME, [again.id], ANA)
    assert world.desk.unlink(BOBS, BOB) == ("other", False)  # withdrawn
    assert store.request(world.app.db, again.id).status == "withdrawn"  # type: ignore[union-attr]
    assert world.actions() == ["created", "request", "refused"]
    assert world.actions("other") == ["created", "request", "withdrawn"]


def test_a_join_code_lets_one_room_in_once_before_it_expires(world: World) -> None:
    world.link(HOME, "g pt", ANA)
    with pytest.raises(CommandError, match="not linked"):
        world.desk.issue_code(BOBS, [], BOB)
    issued = world.desk.issue_code(HOME, [], ANA)
    linked = world.link(BOBS, f"g de code:{issued.code.upper()}", BOB)
    assert linked.how == "code"  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="not valid"):
        world.link(CLEMS, f"g en code:{issued.code}", CLEM)
    assert world.relay.groups.link_of(CLEMS) is None
    # expired: the same refusal, and nothing spent
    late = world.desk.issue_code(HOME, ["1h"], ANA)
    world.app.db.execute("UPDATE relay_codes SET expires_at = '2000-01-01T00:00:00+00:00'")
    with pytest.raises(CommandError, match="not valid"):
        world.link(CLEMS, f"g en code:{late.code}", CLEM)
    with pytest.raises(CommandError, match="one minute at least"):
        world.desk.issue_code(HOME, ["8d"], ANA)
    assert world.actions() == ["created", "code", "linked-with-code", "code"]
    history = " ".join(world.desk.history(HOME, ANA, "en")[1])
    assert issued.code not in history  # the code itself is shown once, to the steward


def test_widening_a_mode_needs_consent_narrowing_does_not(world: World) -> None:
    world.link(HOME, "g pt", ANA)
    code = world.desk.issue_code(HOME, [], ANA).code
    world.link(BOBS, f"g de receive code:{code}", BOB)
    widened = world.link(BOBS, "g de two-way", BOB)
    assert widened.how == "requested"  # type: ignore[attr-defined]
    assert world.relay.groups.link_of(BOBS).mode == "receive"  # type: ignore[union-attr]
    with pytest.raises(CommandError, match="to become {mode} waits"):
        world.link(BOBS, "g de two-way", BOB)
    narrowed = world.link(HOME, "g pt send", ANA)
    assert narrowed.how == "changed"  # type: ignore[attr-defined]
    # a steward widens their own room at once
    assert world.link(HOME, "g pt two-way", ANA).how == "changed"  # type: ignore[attr-defined]


def test_receive_only_rooms_and_members_never_post_to_the_group(world: World) -> None:
    world.link(HOME, "g pt", ANA)
    code = world.desk.issue_code(HOME, [], ANA).code
    world.link(BOBS, f"g de code:{code}", BOB)
    groups = world.relay.groups
    assert groups.audience(HOME, ANA).room_ids == [HOME, BOBS]
    bobs = groups.audience(BOBS, BOB)
    assert (bobs.room_ids, bobs.reason) == ([BOBS], NOT_STEWARD)
    assert groups.audience(BOBS, ADMIN).room_ids == [BOBS, HOME]
    world.desk.set_mode(HOME, [BOBS, "receive"], ANA)
    assert groups.audience(BOBS, ADMIN).reason == RECEIVE_ONLY
    # looking is not posting: a steward sees the whole group from a receive-only room
    assert groups.audience(BOBS, ADMIN, posting=False).room_ids == [BOBS, HOME]
    assert groups.audience("!elsewhere:x", ANA).group is None


def test_expulsion_stewardship_and_the_last_steward_room(world: World) -> None:
    world.link(HOME, "g pt", ANA)
    code = world.desk.issue_code(HOME, [], ANA).code
    world.link(BOBS, f"g de code:{code}", BOB)
    with pytest.raises(CommandError, match="only steward room"):
        world.desk.remove(HOME, HOME, ANA)
    with pytest.raises(CommandError, match="only steward room"):
        world.desk.unlink(HOME, ANA)
    with pytest.raises(CommandError, match="always keeps one"):
        world.desk.steward(HOME, ["remove", HOME], ANA)
    # hand stewardship over: name Bob's room (by its name), then step down
    assert world.desk.steward(HOME, ["add", "Bobs"], ANA)[3]
    world.told()
    assert world.relay.groups.is_steward("g", BOB)
    assert world.desk.steward(HOME, ["remove", HOME], ANA)[3]
    assert not world.relay.groups.is_steward("g", ANA)
    told = world.told()
    assert [room for room, _ in told] == [BOBS]  # the remaining steward room hears of it
    with pytest.raises(PermissionDenied):
        world.desk.remove(HOME, BOBS, ANA)
    group, removed, _name = world.desk.remove(BOBS, HOME, BOB)
    assert (group, removed.room_id) == ("g", HOME)
    assert world.relay.groups.link_of(HOME) is None
    told = world.told()
    assert [room for room, _ in told] == [HOME]
    assert "removed this room" in told[0][1]
    with pytest.raises(CommandError, match="not a room of"):
        world.desk.remove(BOBS, "!nowhere:x", BOB)
    # the last room leaving dissolves the group: its name is free again
    world.desk.unlink(BOBS, BOB)
    assert store.steward_rooms(world.app.db, "g") == []
    assert world.link(CLEMS, "g it", CLEM).how == "created"  # type: ignore[attr-defined]
    assert world.actions()[:8] == [
        "created", "code", "linked-with-code", "steward-add", "steward-remove", "removed",
        "left", "created",
    ]  # fmt: skip


def test_glossary_pause_and_language_are_recorded(world: World) -> None:
    world.link(HOME, "g pt", ANA)
    code = world.desk.issue_code(HOME, [], ANA).code
    world.link(BOBS, f"g de code:{code}", BOB)
    with pytest.raises(PermissionDenied, match="glossary"):
        world.desk.add_term(BOBS, "Pirate", BOB)
    world.desk.add_term(BOBS, "Mujawara", ADMIN)
    world.desk.remove_term(HOME, "Mujawara", ANA)
    world.desk.set_paused(BOBS, True, BOB)
    world.desk.set_paused(BOBS, False, BOB)
    world.link(BOBS, "g nl", BOB)
    assert world.actions()[3:] == [
        "glossary-add", "glossary-remove", "paused", "resumed", "language",
    ]  # fmt: skip
    lines = world.desk.history(HOME, ANA, "en")[1]
    assert any("`@admin:x` added `Mujawara` to the glossary of `g`" in line for line in lines)


def test_an_encrypted_room_reaches_unencrypted_rooms_only_with_a_stewards_consent(
    world: World,
) -> None:
    world.link(HOME, "g pt", ANA)
    world.matrix.encrypted.add(BOBS)
    world.matrix.power[(BOBS, ANA)] = 100
    with pytest.raises(CommandError, match="is encrypted"):
        world.link(BOBS, "g de", ANA)
    assert world.relay.groups.link_of(BOBS) is None
    # receive only: nothing of it goes out, so no consent is needed
    assert world.link(BOBS, "g de receive", ANA).how == "linked"  # type: ignore[attr-defined]
    world.desk.unlink(BOBS, ANA)
    outcome = world.link(BOBS, "g de --allow-unencrypted", ANA)
    assert outcome.allowed == ["Home"]  # type: ignore[attr-defined]
    told = world.told()
    assert (BOBS, told[-1][1]) == told[-1]
    assert "homeserver stores them unencrypted" in told[-1][1]
    # a member may not give that consent
    world.matrix.encrypted.add(CLEMS)
    with pytest.raises(CommandError, match="Only a steward"):
        world.link(CLEMS, "g en --allow-unencrypted", CLEM)
    request = world.link(CLEMS, "g it", CLEM).request  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="is encrypted"):
        world.desk.approve(HOME, [request.id], ANA)
    assert store.request(world.app.db, request.id).status == "pending"  # type: ignore[union-attr]
    world.desk.approve(HOME, [request.id, "--allow-unencrypted"], ANA)
    assert world.actions()[-2:] == ["approved", "allow-unencrypted"]


def test_a_room_turning_encryption_on_stops_reaching_unencrypted_rooms(world: World) -> None:
    world.link(HOME, "g pt", ANA)
    world.matrix.power[(BOBS, ANA)] = 100
    world.matrix.encrypted.add(CLEMS)
    world.matrix.power[(CLEMS, ANA)] = 100
    world.link(BOBS, "g de", ANA)
    world.link(CLEMS, "g en receive", ANA)
    relay = world.relay
    bobs = relay.groups.link_of(BOBS)
    assert bobs is not None
    assert {t.room_id for t in relay._targets(bobs)} == {HOME, CLEMS}
    world.matrix.encrypted.add(BOBS)
    assert {t.room_id for t in relay._targets(bobs)} == {CLEMS}
    world.desk.set_mode(HOME, [BOBS, "two-way", "--allow-unencrypted"], ANA)
    bobs = relay.groups.link_of(BOBS)
    assert bobs is not None
    assert bobs.allow_unencrypted
    assert {t.room_id for t in relay._targets(bobs)} == {HOME, CLEMS}
