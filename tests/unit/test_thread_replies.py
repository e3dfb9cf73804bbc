"""Answers in threads, and what happens when a homeserver refuses a thread it does not know."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from nio import RoomSendError

from bot.core.commands import CommandContext
from bot.core.config import MatrixConfig
from bot.core.matrix.client import MatrixClient, MatrixError
from bot.core.matrix.intake import IncomingEvent
from bot.core.matrix.relations import in_thread, thread_root_of
from tests.support.services import world

ROOM = "!room:x"


def command_in(root: str | None) -> IncomingEvent:
    content: dict[str, Any] = {"msgtype": "m.text", "body": "!relay status"}
    if root is not None:
        content["m.relates_to"] = in_thread(root)
    return IncomingEvent.from_source(
        ROOM,
        {"event_id": "$cmd", "sender": "@ana:x", "type": "m.room.message", "content": content},
    )


def context(fresh_db: Any, event: IncomingEvent) -> tuple[CommandContext, Any]:
    w = world(fresh_db)
    core = w.core
    return CommandContext(event, "en", [], "", core.phrases, core.rooms, core.matrix), w


async def test_a_command_in_a_thread_is_answered_in_it(fresh_db) -> None:
    ctx, w = context(fresh_db, command_in("$root"))
    await ctx.reply_text("fine")
    relates = w.fake.sent[0].content["m.relates_to"]
    assert relates == {
        "rel_type": "m.thread",
        "event_id": "$root",
        "is_falling_back": False,
        "m.in_reply_to": {"event_id": "$cmd"},
    }
    assert thread_root_of(w.fake.sent[0].content) == "$root"

    ctx, w = context(fresh_db, command_in(None))
    await ctx.reply_text("fine")
    assert w.fake.sent[0].content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$cmd"}}


async def test_a_thread_the_homeserver_refuses_gets_its_answer_in_the_room(fresh_db) -> None:
    ctx, w = context(fresh_db, command_in("$unknown-to-us"))
    fake_send = w.fake.send

    async def refusing(room_id: str, content: dict[str, Any], **kwargs: Any) -> str:
        if thread_root_of(content) is not None:
            raise MatrixError("send failed: Can't send relation to unknown event", "M_UNKNOWN")
        return await fake_send(room_id, content, **kwargs)

    w.fake.send = refusing
    await ctx.reply_text("fine")
    assert [s.content["m.relates_to"] for s in w.fake.sent] == [
        {"m.in_reply_to": {"event_id": "$cmd"}}
    ]


async def test_a_400_is_not_retried_whatever_its_error_code(tmp_path) -> None:
    client = MatrixClient(
        MatrixConfig(homeserver="http://127.0.0.1:1", user_id="@bot:x", password="p"), tmp_path
    )
    tries = 0

    async def attempt() -> Any:
        nonlocal tries
        tries += 1
        refused = RoomSendError("Can't send relation to unknown event", "M_UNKNOWN")
        refused.transport_response = SimpleNamespace(status=400)  # type: ignore[assignment]
        return refused

    response = await client._with_retries(attempt, "send")
    assert tries == 1
    assert isinstance(response, RoomSendError)
    await client.client.close()
