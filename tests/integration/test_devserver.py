"""The real-homeserver harness: a local Synapse and members that talk through it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nio import AsyncClient, AsyncClientConfig, ErrorResponse, LoginResponse, RoomSendResponse

from bot.dev.devserver.synapse import LocalSynapse
from tests.support.members import Member, password_for

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
async def hs(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalSynapse]:
    server = LocalSynapse(tmp_path_factory.mktemp("synapse"))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
async def alice(
    hs: LocalSynapse, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Member]:
    member = await Member.create(
        hs, "alice", encryption=True, store_dir=tmp_path_factory.mktemp("alice-store")
    )
    yield member
    await member.close()


@pytest.fixture(scope="module")
async def bob(hs: LocalSynapse, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Member]:
    member = await Member.create(
        hs, "bob", encryption=True, store_dir=tmp_path_factory.mktemp("bob-store")
    )
    yield member
    await member.close()


async def test_members_see_each_others_messages(alice: Member, bob: Member) -> None:
    room_id = await alice.create_room(name="plain", invite=[bob.user_id])
    await bob.join(room_id)

    event_id = await alice.send_text(room_id, "hola desde Lyon")
    seen = await bob.wait_for_text(room_id, "hola desde Lyon", sender=alice.user_id)

    assert seen["event_id"] == event_id
    assert seen["content"]["body"] == "hola desde Lyon"

    mark = alice.mark(room_id)
    reply_id = await bob.send_text(room_id, "bien reçu", reply_to=event_id)
    reply = await alice.wait_for_text(room_id, "bien reçu", sender=bob.user_id, after=mark)
    assert reply["event_id"] == reply_id
    assert reply["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == event_id


async def test_encrypted_room_delivers_plaintext(alice: Member, bob: Member) -> None:
    room_id = await alice.create_room(name="secret", invite=[bob.user_id], encrypted=True)
    await bob.join(room_id)

    event_id = await alice.send_text(room_id, "réunion jeudi à 18h")
    seen = await bob.wait_for(room_id, lambda e: e["event_id"] == event_id)

    assert seen["decrypted"] is True
    assert seen["type"] == "m.room.message"
    assert seen["sender"] == alice.user_id
    assert seen["content"]["body"] == "réunion jeudi à 18h"
    assert isinstance(seen["origin_server_ts"], int)


async def test_wait_for_reports_what_it_saw(alice: Member, bob: Member) -> None:
    room_id = await alice.create_room(invite=[bob.user_id])
    await bob.join(room_id)
    await alice.send_text(room_id, "something else")
    await bob.wait_for_text(room_id, "something else")

    with pytest.raises(AssertionError, match=r"m\.room\.message from @alice:localhost"):
        await bob.wait_for_text(room_id, "never sent", timeout=0.5)


async def test_restart_keeps_users_and_rooms(hs: LocalSynapse, alice: Member, bob: Member) -> None:
    room_id = await alice.create_room(name="durable", invite=[bob.user_id])
    await bob.join(room_id)
    url = hs.url

    await hs.restart()

    assert hs.url == url
    # A fresh login with the old password proves the account survived.
    again = await Member.create(hs, "alice")
    try:
        joined = await again.client.joined_rooms()
        assert room_id in joined.rooms  # type: ignore[union-attr]
        mark = bob.mark(room_id)
        await again.send_text(room_id, "still here after restart")
        seen = await bob.wait_for_text(
            room_id, "still here after restart", sender=alice.user_id, after=mark
        )
        assert seen["sender"] == alice.user_id
    finally:
        await again.close()


async def test_tight_rate_limit_answers_429(tmp_path: Path) -> None:
    hs = LocalSynapse(tmp_path, rate_limits={"rc_message": {"per_second": 0.5, "burst_count": 2}})
    await hs.start()
    pid = hs.pid
    assert pid is not None
    client = AsyncClient(
        hs.url, hs.user_id("flood"), config=AsyncClientConfig(max_limit_exceeded=0)
    )
    try:
        await hs.register("flood", password_for("flood"))
        assert isinstance(await client.login(password_for("flood")), LoginResponse)
        created = await client.room_create(name="flood")
        room_id = created.room_id  # type: ignore[union-attr]

        limited: ErrorResponse | None = None
        sent = 0
        for n in range(10):
            response = await client.room_send(
                room_id, "m.room.message", {"msgtype": "m.text", "body": f"burst {n}"}
            )
            if isinstance(response, RoomSendResponse):
                sent += 1
                continue
            limited = response
            break

        assert isinstance(limited, ErrorResponse), "no 429 within 10 quick sends"
        assert limited.status_code == "M_LIMIT_EXCEEDED"
        assert limited.retry_after_ms is not None
        assert limited.retry_after_ms > 0
        assert 1 <= sent <= 3
    finally:
        await client.close()
        await hs.stop()
    assert not _alive(pid)
    await hs.stop()  # idempotent
