"""Predicates for Member.wait_for: what a member would look for on screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core.matrix.client import LIAISON_KEY

Predicate = Callable[[dict[str, Any]], bool]


def reply_to(event_id: str) -> Predicate:
    """A notice from the bot answering ``event_id``."""

    def match(event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        relates = content.get("m.relates_to", {}).get("m.in_reply_to", {})
        return (
            event.get("type") == "m.room.message"
            and content.get("msgtype") == "m.notice"
            and relates.get("event_id") == event_id
        )

    return match


def from_bot(sender: str, *, contains: str | None = None, kind: str | None = None) -> Predicate:
    """A message the bot sent, optionally containing some text or of a given kind."""

    def match(event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        if event.get("sender") != sender or event.get("type") != "m.room.message":
            return False
        if contains is not None and contains not in content.get("body", ""):
            return False
        return kind is None or content.get(LIAISON_KEY, {}).get("kind") == kind

    return match


def joined(user_id: str) -> Predicate:
    def match(event: dict[str, Any]) -> bool:
        return (
            event.get("type") == "m.room.member"
            and event.get("state_key") == user_id
            and event.get("content", {}).get("membership") == "join"
        )

    return match


async def room_with_bot(member: Any, bot_user_id: str, **kwargs: Any) -> str:
    """A room created by ``member`` with the bot invited, joined, and its greeting read (the
    language and zone it assumed are then recorded)."""
    room_id: str = await member.create_room(invite=[bot_user_id], **kwargs)
    await member.wait_for(room_id, joined(bot_user_id), timeout=30)
    await member.wait_for(room_id, from_bot(bot_user_id, kind="greeting"), timeout=30)
    return room_id
